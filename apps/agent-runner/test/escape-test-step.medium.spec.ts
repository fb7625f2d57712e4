import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type AnyMessageDef, type Envelope, type PayloadOf, type RepoTargetDto, type WorkspaceRefDto } from '@agency/contracts';
import { sampleFr, sampleStrategy } from '@agency/contracts/testing';
import { ArtifactStore, BusConnection, BusPublisher, Clock } from '@agency/messaging';
import { expectEventually, readStream, startFakeLlm, startNatsServer, tempDir, type FakeLlm, type NatsServerHandle, type TempDir } from '@agency/testing';
import { LABELS } from '../src/sandbox/docker/container-spec.js';
import type { DockerEngine } from '../src/sandbox/docker/docker.engine.js';
import { requireDocker } from './support/docker-sandbox.js';
import { makeGreeterForge, VAULT_PATH, type GreeterForge } from './support/greeter-forge.js';
import { LlmScript, tools, turns } from './support/scripts.js';
import { buildRunner, chownTreeTo, dockerSocketGid, runnerEnv, spawnRunner, type SpawnedRunner } from './support/spawned-runner.js';
import { treeDigest } from './support/tree-digest.js';

const API_KEY = 'escape-test-step-key';
const OWNER = `test-escape-ts-${process.pid}`;
/** deploy/k8s runs the runner as uid 1000: the sandbox runs as the same user and owns the job's slot. */
const RUNNER_UID = 1000;
const SECRET = `HOST-SECRET-${process.pid}`;
const VICTIM_SECRET = `VICTIM-SECRET-${process.pid}`;

type Answer<D extends AnyMessageDef> =
  | { kind: 'done'; event: Envelope<PayloadOf<D>> }
  | { kind: 'failed'; event: Envelope<PayloadOf<typeof Messages.AgentStepFailed>> }
  | { kind: 'dead'; reason: string };

/** An answer in words, so a failed expectation says why the step did not pass. */
function outcome(answer: Answer<AnyMessageDef>): string {
  if (answer.kind === 'done') return 'done';
  if (answer.kind === 'dead') return `dead-lettered: ${answer.reason}`;
  return `failed ${answer.event.payload.code}: ${answer.event.payload.reason}`;
}

/** The repository's test script, as the coder rewrote it: package.json's "test" runs the agent's escape.sh. */
const PACKAGE_JSON = JSON.stringify({ name: 'greeter', version: '1.0.0', private: true, type: 'module', scripts: { test: 'sh ./escape.sh' } }, null, 2);

/**
 * Issue 12 item 1, at the test step: the code step passes cleanly, then the repository's test
 * command (an npm "test" script the coder wrote) swaps /workspace/repo for a link to a host path,
 * another job's worktree or the shared mirror, or plants links where the runner reads after the
 * run (the JUnit report, `.git`). With the runner as uid 1000, the step fails WORKSPACE_TAMPERED
 * or the plant is ignored: the slot's move back follows no link, no host file reaches the test
 * report, the lint result or any event, the host, the other job's worktree and the mirror are
 * unchanged byte for byte, no planted git program runs on the host, and the next job runs normally.
 */
describe('a hostile test command (issue 12 item 1 at the test step), runner as uid 1000', () => {
  let engine: DockerEngine;
  let nats: NatsServerHandle;
  let llm: FakeLlm;
  let forge: GreeterForge;
  let work: TempDir;
  let outside: TempDir;
  let bus: BusConnection;
  let publisher: BusPublisher;
  let artifacts: ArtifactStore;
  let runner: SpawnedRunner | undefined;
  const script = new LlmScript();
  const frIds = new Map<string, string>();
  /** One feature request per saga (FR ids are numbers). */
  const frIdOf = (sagaId: string): string => {
    if (!frIds.has(sagaId)) frIds.set(sagaId, `FR-${200 + frIds.size}`);
    return frIds.get(sagaId)!;
  };

  beforeAll(async () => {
    engine = await requireDocker();
    buildRunner();
    nats = await startNatsServer();
    llm = await startFakeLlm(API_KEY);
    llm.respond = script.respond;
    forge = makeGreeterForge();
    work = tempDir('escape-ts-work-');
    outside = tempDir('escape-ts-outside-');
    mkdirSync(join(outside.path, 'host'));
    writeFileSync(join(outside.path, 'host', 'secret.txt'), `${SECRET}\n`);
    // A well-formed JUnit report holding the secret: read through a link, it would land in the Tested event's test names.
    writeFileSync(
      join(outside.path, 'host', 'report.xml'),
      `<?xml version="1.0"?>\n<testsuites><testsuite name="${SECRET}" tests="1" failures="1"><testcase name="${SECRET}"><failure message="${SECRET}"/></testcase></testsuite></testsuites>\n`,
    );
    mkdirSync(join(outside.path, 'markers'));
    mkdirSync(join(outside.path, 'home'));
    for (const dir of [work.path, outside.path, forge.root.path]) {
      chmodSync(dir, 0o755);
      chownTreeTo(dir, RUNNER_UID, RUNNER_UID);
    }
    bus = await BusConnection.connect({ servers: nats.url, name: 'escape-test-step' });
    publisher = new BusPublisher(bus, new Clock());
    artifacts = new ArtifactStore(bus);
    runner = await spawnRunner(
      {
        ...runnerEnv({ natsUrl: nats.url, workDir: work.path, llmUrl: llm.url, apiKey: API_KEY, sandboxOwner: OWNER, vaultPath: VAULT_PATH }),
        HOME: join(outside.path, 'home'),
        BUS_MAX_DELIVER: '2',
        COMMAND_TIMEOUT_SECONDS: '60',
        TEST_TIMEOUT_SECONDS: '60',
      },
      { uid: RUNNER_UID, gid: dockerSocketGid() },
    );
  });

  afterAll(async () => {
    await runner?.stop().catch(() => undefined);
    if (runner && runner.child.exitCode === null) runner.child.kill('SIGKILL');
    for (const c of await engine.list([`${LABELS.owner}=${OWNER}`]).catch(() => [])) await engine.remove(c.id).catch(() => undefined);
    await bus?.close();
    await llm?.close();
    await nats?.dispose();
    forge?.root.remove();
    work?.remove();
    outside?.remove();
  });

  const repoTarget = (extra: Partial<RepoTargetDto> = {}): RepoTargetDto => ({
    name: 'example/greeter',
    cloneUrl: forge.cloneUrl,
    base: 'main',
    forge: 'local',
    testCommand: 'npm test',
    ...extra,
  });

  const answerOf = <D extends AnyMessageDef>(def: D, sagaId: string, step: string): Promise<Answer<D>> =>
    expectEventually(
      async () => {
        const find = async <E extends AnyMessageDef>(d: E) =>
          (await readStream(bus.js, STREAMS.events.name, d.subject))
            .map((m) => JSON.parse(m.text) as Envelope<PayloadOf<E>>)
            .find((e) => e.sagaId === sagaId && e.step === step);
        const dead = await find(Messages.AgentDeadLettered);
        if (dead) return { kind: 'dead', reason: dead.payload.reason } as const;
        const done = await find(def);
        if (done) return { kind: 'done', event: done } as const;
        const failed = await find(Messages.AgentStepFailed);
        if (failed) return { kind: 'failed', event: failed } as const;
        throw new Error(`no answer for ${sagaId}/${step} yet`);
      },
      { timeoutMs: 180_000, intervalMs: 200, message: `the answer of ${sagaId}/${step}` },
    );

  /** A code step whose coder writes `files` and finishes: it must pass, and hands over its workspace. */
  const code = async (sagaId: string, round: number, files: Record<string, string>, repo: Partial<RepoTargetDto> = {}): Promise<WorkspaceRefDto> => {
    const frId = frIdOf(sagaId);
    const writes = Object.entries(files).map(([path, content]) => tools(['write_file', { path, content }]));
    script.on(sagaId, 'coder', turns([...writes, tools(['finish', { summary: 'done' }])]));
    const plan = await artifacts.putJson(`${frId}/${sagaId}/plan-${round}.json`, {
      summary: 'A change',
      steps: [{ title: 'Change', files: [], detail: '' }],
      risks: [],
    });
    await publisher.publish(Messages.Code, {
      frId,
      sagaId,
      jobId: `job-${sagaId}`,
      step: `code-r${round}`,
      attempt: 1,
      payload: {
        fr: { ...sampleFr(), id: frId, title: `Escape test ${sagaId}`, body: 'A change.' },
        repo: repoTarget(repo),
        strategy: { ...sampleStrategy(), plannerModel: 'planner', coderModel: 'coder' },
        plan,
        round,
        findings: [],
      },
    });
    const answer = await answerOf(Messages.Coded, sagaId, `code-r${round}`);
    if (answer.kind !== 'done') throw new Error(`code step ${sagaId}/code-r${round}: ${outcome(answer)}`);
    return answer.event.payload.workspace;
  };

  const test = async (sagaId: string, round: number, workspace: WorkspaceRefDto, repo: Partial<RepoTargetDto>) => {
    await publisher.publish(Messages.Test, {
      frId: frIdOf(sagaId),
      sagaId,
      jobId: `job-${sagaId}`,
      step: `test-r${round}`,
      attempt: 1,
      payload: { repo: repoTarget(repo), workspace, round },
    });
    return answerOf(Messages.Tested, sagaId, `test-r${round}`);
  };

  /** Every event of a saga and every artifact it stored, as text: where a host file's bytes would show. */
  const everythingOf = async (sagaId: string): Promise<string> => {
    const events = (await readStream(bus.js, STREAMS.events.name)).map((m) => m.text).filter((t) => t.includes(sagaId));
    const reports = await Promise.all(
      events
        .map((t) => JSON.parse(t) as Envelope<{ report?: { key: string } }>)
        .flatMap((e) => (e.payload.report ? [artifacts.getText(e.payload.report as Parameters<ArtifactStore['getText']>[0])] : [])),
    );
    return [...events, ...reports].join('\n');
  };

  const mirrorOf = (jobId: string): string => (JSON.parse(readFileSync(join(work.path, 'jobs', `${jobId}.json`), 'utf8')) as { mirrorDir: string }).mirrorDir;
  /** The mirror byte for byte, but git's per-worktree bookkeeping (the attacking job's index and HEAD move with its checkout). */
  const mirrorDigest = (mirrorDir: string): string[] => treeDigest(mirrorDir).filter((line) => !/^[A-Z] worktrees\//.test(line));

  /** Slots (as the root test process sees them) that hold `name`: what a command left in a slot that should be gone. */
  const slotsHolding = (name: string): string[] => {
    const slots = join(work.path, 'sandbox', 'slots');
    return (existsSync(slots) ? readdirSync(slots) : []).filter((id) => lstatSync(join(slots, id, name), { throwIfNoEntry: false }) !== undefined);
  };

  it('fails the step WORKSPACE_TAMPERED or ignores the plant; nothing outside the job is read or written; the next job runs', async () => {
    // Another job on the same mirror, idle with its work in its worktree.
    await code('victim', 1, { 'victim.txt': `${VICTIM_SECRET}\n` });
    const victimDir = join(work.path, 'worktrees', 'job-victim');
    const mirrorDir = mirrorOf('job-victim');
    const hostDir = join(outside.path, 'host');
    const marker = join(outside.path, 'markers', 'HOST-COMMAND-RAN');
    const swapTo = (target: string) => `mv /workspace/repo /workspace/orig && ln -s ${target} /workspace/repo\n`;

    // Each attack: what escape.sh does (run by `npm test`, or by the lint command) and the repository's report and lint settings.
    const tampering: Record<string, { escape: string; repo: Partial<RepoTargetDto> }> = {
      'steal-host': { escape: swapTo(hostDir), repo: { testReport: 'report.xml', lintCommand: 'cat report.xml secret.txt' } },
      'trample-victim': { escape: swapTo(victimDir), repo: { testReport: 'victim.txt', lintCommand: 'rm -rf -- * .git; echo lint' } },
      'wipe-mirror': { escape: swapTo(mirrorDir), repo: { testReport: 'config', lintCommand: 'git status' } },
      'swap-in-lint': { escape: swapTo(hostDir), repo: { testCommand: 'node --test', lintCommand: 'sh ./escape.sh', testReport: 'report.xml' } },
      'swap-in-setup': { escape: swapTo(hostDir), repo: { setupCommand: 'sh ./escape.sh', testCommand: 'node --test', testReport: 'report.xml' } },
      'other-directory': { escape: 'mv /workspace/repo /workspace/orig && mkdir /workspace/repo && cp -a /workspace/orig/. /workspace/repo/\n', repo: {} },
      // The swapped-out worktree and the slot made unreadable: the runner, the same user, must still remove them.
      'swap-and-lock': { escape: `${swapTo(hostDir).trim()} && chmod 000 /workspace/orig/test /workspace/orig /workspace\n`, repo: {} },
    };
    for (const [sagaId, attack] of Object.entries(tampering)) {
      const workspace = await code(sagaId, 1, { 'package.json': PACKAGE_JSON, 'escape.sh': attack.escape });
      const before = { victim: treeDigest(victimDir), host: treeDigest(hostDir), mirror: mirrorDigest(mirrorDir) };
      const answer = await test(sagaId, 1, workspace, attack.repo);

      expect(outcome(answer), sagaId).toMatch(/^failed WORKSPACE_TAMPERED/);
      if (answer.kind === 'failed') expect(answer.event.payload, sagaId).toMatchObject({ code: 'WORKSPACE_TAMPERED', retryable: false });
      const seen = await everythingOf(sagaId);
      expect(seen, sagaId).not.toContain(SECRET);
      expect(seen, sagaId).not.toContain(VICTIM_SECRET);
      expect(treeDigest(victimDir), sagaId).toEqual(before.victim);
      expect(treeDigest(hostDir), sagaId).toEqual(before.host);
      expect(mirrorDigest(mirrorDir), sagaId).toEqual(before.mirror);
      // The move back followed nothing: the job's path is empty (its next step rebuilds it), never a link.
      const left = lstatSync(join(work.path, 'worktrees', `job-${sagaId}`), { throwIfNoEntry: false });
      expect(left?.isSymbolicLink() ?? false, sagaId).toBe(false);
      const claims = join(work.path, 'sandbox', 'claims');
      expect(existsSync(claims) ? readdirSync(claims).filter((name) => name.endsWith('.json')) : [], sagaId).toEqual([]);
      // The slot went, with whatever the command left in it.
      expect(slotsHolding('orig'), sagaId).toEqual([]);
    }

    // Everything locked (the environment setup made, the worktree's directories, the worktree, the slot) after passing
    // tests: the worktree comes back usable, the next round commits on it, and the cleanup removes it.
    const withSetup = { setupCommand: 'mkdir -p deps && echo x > deps/x' };
    const lockTarget = await code('lock-down', 1, {
      'package.json': PACKAGE_JSON,
      'escape.sh': 'node --test && chmod 000 deps test src /workspace/repo /workspace\n',
    });
    const locked = await test('lock-down', 1, lockTarget, withSetup);
    expect(outcome(locked)).toBe('done');
    if (locked.kind === 'done') expect(locked.event.payload.passed).toBe(true);
    // The locks held past the move back (which opens only the worktree's own directory): round 2 meets them.
    for (const dir of ['src', 'deps']) expect(statSync(join(work.path, 'worktrees', 'job-lock-down', dir)).mode & 0o777, dir).toBe(0);
    await code('lock-down', 2, { 'src/round2.js': 'export const two = 2;\n' }, withSetup);
    await publisher.publish(Messages.Cleanup, {
      frId: frIdOf('lock-down'),
      sagaId: 'lock-down',
      jobId: 'job-lock-down',
      step: 'cleanup',
      attempt: 1,
      payload: { reason: 'done' },
    });
    const cleaned = await answerOf(Messages.Cleaned, 'lock-down', 'cleanup');
    expect(outcome(cleaned)).toBe('done');
    expect(lstatSync(join(work.path, 'worktrees', 'job-lock-down'), { throwIfNoEntry: false })).toBeUndefined();

    // Plants the runner reads or runs after the session: a JUnit report and a lint input that are links to host files,
    // and `.git` swapped for a link to a git directory the agent wrote (its config runs a filter and hooks on the host).
    const planted = `#!/bin/sh\ntouch ${marker}\n`;
    const evilGit = [
      'mkdir -p evil-git/objects evil-git/refs/heads evil-git/hooks evil-git/info',
      "echo 'ref: refs/heads/main' > evil-git/HEAD",
      `printf '[core]\\n\\trepositoryformatversion = 0\\n\\thooksPath = hooks\\n[filter "pwn"]\\n\\tclean = "touch ${marker}; cat"\\n\\tsmudge = "touch ${marker}; cat"\\n' > evil-git/config`,
      "echo '* filter=pwn' > evil-git/info/attributes",
      "echo '* filter=pwn' > .gitattributes",
      ...['pre-commit', 'post-checkout', 'post-commit', 'reference-transaction'].map((h) => `cp hook.sh evil-git/hooks/${h} && chmod +x evil-git/hooks/${h}`),
      'rm -f .git && ln -s evil-git .git',
      `ln -sf ${join(hostDir, 'report.xml')} junit.xml`,
      `ln -sf ${join(hostDir, 'secret.txt')} lint-input.txt`,
      'node --test',
      '',
    ].join('\n');
    const workspace = await code('plant', 1, { 'package.json': PACKAGE_JSON, 'escape.sh': evilGit, 'hook.sh': planted });
    const before = { victim: treeDigest(victimDir), host: treeDigest(hostDir), mirror: mirrorDigest(mirrorDir) };
    const tested = await test('plant', 1, workspace, { testReport: 'junit.xml', lintCommand: 'cat lint-input.txt; echo lint-done' });
    expect(outcome(tested)).toBe('done');
    // The plants are there (the attack ran): `.git` and the report are links now.
    const plantDir = join(work.path, 'worktrees', 'job-plant');
    expect(lstatSync(join(plantDir, '.git')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(plantDir, 'junit.xml')).isSymbolicLink()).toBe(true);
    if (tested.kind === 'done') {
      // The report link was not followed: the results come from the output, the lint saw no host file.
      expect(tested.event.payload).toMatchObject({ passed: true });
      expect(tested.event.payload.lint?.outputTail).toContain('lint-done');
      const report = JSON.parse(await artifacts.getText(tested.event.payload.report)) as { resultsFrom: string };
      expect(report.resultsFrom).toBe('output');
    }
    // The next round commits on the same worktree (host git checkout, clean, add, commit) and runs no planted program.
    await code('plant', 2, { 'round2.txt': 'round 2\n' });
    const coded = await answerOf(Messages.Coded, 'plant', 'code-r2');
    if (coded.kind === 'done') expect(coded.event.payload).toMatchObject({ commits: 1, filesChanged: ['round2.txt'] });
    const seen = await everythingOf('plant');
    expect(seen).not.toContain(SECRET);
    expect(existsSync(marker)).toBe(false);
    expect(treeDigest(victimDir)).toEqual(before.victim);
    expect(treeDigest(hostDir)).toEqual(before.host);
    expect(mirrorDigest(mirrorDir).filter((l) => !/^[A-Z] (objects|refs|logs)\//.test(l))).toEqual(
      before.mirror.filter((l) => !/^[A-Z] (objects|refs|logs)\//.test(l)),
    );

    // The next job on the same mirror runs normally: its code step commits and its tests pass.
    const next = await code('next', 1, { 'next.txt': 'next\n' });
    const nextTested = await test('next', 1, next, { testCommand: 'node --test', lintCommand: 'echo clean' });
    expect(outcome(nextTested)).toBe('done');
    if (nextTested.kind === 'done') expect(nextTested.event.payload).toMatchObject({ passed: true, lint: { exitCode: 0 } });
    expect(existsSync(marker)).toBe(false);
    expect(treeDigest(victimDir)).toEqual(before.victim);
  }, 900_000);
});
