import { mkdirSync, readFileSync, existsSync, lstatSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type Envelope, type PayloadOf } from '@agency/contracts';
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

const API_KEY = 'escape-test-key';
const OWNER = `test-escape-${process.pid}`;
/** deploy/k8s runs the runner as uid 1000: the sandbox runs as the same user and owns the job's slot. */
const RUNNER_UID = 1000;

type StepAnswer =
  { kind: 'coded'; event: Envelope<PayloadOf<typeof Messages.Coded>> } | { kind: 'failed'; event: Envelope<PayloadOf<typeof Messages.AgentStepFailed>> };

/**
 * Issue 12 item 1, as reported: with the runner as a non-root user, one sandboxed command swaps
 * the job's /workspace/repo for a link to a host path; the runner's file tools and host git must
 * not follow it anywhere: no file outside the job's worktree read or written, no filter or
 * attributes planted in the shared mirror, no host command run, and the next job unaffected.
 */
describe('the sandbox escape through the runner (issue 12 item 1), runner as uid 1000', () => {
  let engine: DockerEngine;
  let nats: NatsServerHandle;
  let llm: FakeLlm;
  let forge: GreeterForge;
  let work: TempDir;
  let outside: TempDir;
  let bus: BusConnection;
  let publisher: BusPublisher;
  let runner: SpawnedRunner | undefined;
  const script = new LlmScript();
  const secret = `HOST-SECRET-${process.pid}`;
  const victimSecret = `VICTIM-SECRET-${process.pid}`;

  beforeAll(async () => {
    engine = await requireDocker();
    buildRunner();
    nats = await startNatsServer();
    llm = await startFakeLlm(API_KEY);
    llm.respond = script.respond;
    forge = makeGreeterForge();
    work = tempDir('escape-work-');
    outside = tempDir('escape-outside-');
    mkdirSync(join(outside.path, 'host'));
    writeFileSync(join(outside.path, 'host', 'secret.txt'), `${secret}\n`);
    mkdirSync(join(outside.path, 'markers'));
    mkdirSync(join(outside.path, 'home'));
    // Everything the runner's user must reach is that user's, as on a deployed runner's volume.
    for (const dir of [work.path, outside.path, forge.root.path]) {
      chmodSync(dir, 0o755);
      chownTreeTo(dir, RUNNER_UID, RUNNER_UID);
    }
    bus = await BusConnection.connect({ servers: nats.url, name: 'escape-test' });
    publisher = new BusPublisher(bus, new Clock());
    runner = await spawnRunner(
      {
        ...runnerEnv({ natsUrl: nats.url, workDir: work.path, llmUrl: llm.url, apiKey: API_KEY, sandboxOwner: OWNER, vaultPath: VAULT_PATH }),
        HOME: join(outside.path, 'home'),
        BUS_MAX_DELIVER: '2',
        COMMAND_TIMEOUT_SECONDS: '60',
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

  const code = async (sagaId: string, frId: string): Promise<void> => {
    const plan = await new ArtifactStore(bus).putJson(`${frId}/${sagaId}/plan.json`, {
      summary: 'A change',
      steps: [{ title: 'Change', files: ['a.txt'], detail: '' }],
      risks: [],
    });
    await publisher.publish(Messages.Code, {
      frId,
      sagaId,
      jobId: `job-${sagaId}`,
      step: 'code-r1',
      attempt: 1,
      payload: {
        fr: { ...sampleFr(), id: frId, title: `Escape test ${sagaId}`, body: 'A change.' },
        repo: { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' },
        strategy: { ...sampleStrategy(), plannerModel: 'planner', coderModel: 'coder' },
        plan,
        round: 1,
        findings: [],
      },
    });
  };

  const answerOf = (sagaId: string): Promise<StepAnswer> =>
    expectEventually(
      async () => {
        const coded = (await readStream(bus.js, STREAMS.events.name, Messages.Coded.subject))
          .map((m) => JSON.parse(m.text) as Envelope<PayloadOf<typeof Messages.Coded>>)
          .find((e) => e.sagaId === sagaId);
        if (coded) return { kind: 'coded', event: coded } as const;
        const failed = (await readStream(bus.js, STREAMS.events.name, Messages.AgentStepFailed.subject))
          .map((m) => JSON.parse(m.text) as Envelope<PayloadOf<typeof Messages.AgentStepFailed>>)
          .find((e) => e.sagaId === sagaId);
        if (failed) return { kind: 'failed', event: failed } as const;
        throw new Error(`no answer for ${sagaId} yet`);
      },
      { timeoutMs: 120_000, intervalMs: 200, message: `the answer of ${sagaId}` },
    );

  const mirrorOf = (jobId: string): string => (JSON.parse(readFileSync(join(work.path, 'jobs', `${jobId}.json`), 'utf8')) as { mirrorDir: string }).mirrorDir;
  /** What the model was told by the tools, over every call of a saga. */
  const toolResultsOf = (sagaId: string): string =>
    llm.calls
      .filter((c) => c.headers['x-agency-saga-id'] === sagaId)
      .flatMap((c) => c.messages.filter((m) => m.role === 'tool').map((m) => m.content))
      .join('\n');

  it('confines the file tools and host git to the job, and the next job on the mirror is unaffected', async () => {
    // Another job on the same mirror, idle with its work in its worktree.
    script.on(
      'victim',
      'coder',
      turns([tools(['write_file', { path: 'victim.txt', content: `${victimSecret}\n` }]), tools(['finish', { summary: 'victim' }])]),
    );
    await code('victim', 'FR-101');
    expect((await answerOf('victim')).kind).toBe('coded');
    const victimDir = join(work.path, 'worktrees', 'job-victim');
    const mirrorDir = mirrorOf('job-victim');
    const marker = join(outside.path, 'markers', 'FILTER-RAN');
    const mirrorConfig = () => ({
      config: readFileSync(join(mirrorDir, 'config'), 'utf8'),
      info: treeDigest(join(mirrorDir, 'info')),
      hooks: treeDigest(join(mirrorDir, 'hooks')),
    });
    const before = { victim: treeDigest(victimDir), host: treeDigest(join(outside.path, 'host')), mirror: mirrorConfig() };

    // The attack: one command swaps /workspace/repo for a link to a host path (commands cannot run after it: their
    // working directory is gone), then the tools that used to follow the link. One job per target.
    const redirect = (target: string) =>
      tools(['run_command', { command: `mv /workspace/repo /workspace/orig && ln -s ${target} /workspace/repo && ls -la /workspace` }]);
    const attacks = {
      steal: [
        redirect(join(outside.path, 'host')),
        tools(['read_file', { path: 'secret.txt' }]),
        tools(['list_files', { path: '' }]),
        tools(['search', { pattern: 'HOST-SECRET' }]),
        tools(['write_file', { path: 'pwned.txt', content: 'pwned\n' }]),
      ],
      trample: [
        redirect(victimDir),
        tools(['read_file', { path: 'victim.txt' }]),
        tools(['write_file', { path: 'pwned.txt', content: 'pwned\n' }]),
        tools(['apply_patch', { patch: '--- /dev/null\n+++ b/patched.txt\n@@ -0,0 +1 @@\n+patched\n' }]),
      ],
      plant: [
        redirect(mirrorDir),
        tools(['write_file', { path: 'info/attributes', content: '* filter=pwn\n' }]),
        tools(['edit_file', { path: 'config', old_text: '[core]', new_text: `[filter "pwn"]\n\tclean = "touch ${marker}; cat"\n[core]` }]),
      ],
    };
    for (const [i, [sagaId, replies]] of Object.entries(attacks).entries()) {
      script.on(sagaId, 'coder', turns([...replies, tools(['finish', { summary: 'done' }])]));
      await code(sagaId, `FR-11${i}`);
      const answer = await answerOf(sagaId);

      // The step fails with a clear, final code; nothing of the host reached the model.
      expect(answer.kind, sagaId).toBe('failed');
      if (answer.kind === 'failed') expect(answer.event.payload, sagaId).toMatchObject({ code: 'WORKSPACE_TAMPERED', retryable: false });
      const told = toolResultsOf(sagaId);
      expect(told, sagaId).not.toContain(secret);
      expect(told, sagaId).not.toContain(victimSecret);
      // Nothing outside the job was written, and the job's worktree path is not left as a link.
      expect(treeDigest(victimDir), sagaId).toEqual(before.victim);
      expect(treeDigest(join(outside.path, 'host')), sagaId).toEqual(before.host);
      expect(mirrorConfig(), sagaId).toEqual(before.mirror);
      expect(existsSync(marker), sagaId).toBe(false);
      const worktree = lstatSync(join(work.path, 'worktrees', `job-${sagaId}`), { throwIfNoEntry: false });
      expect(worktree?.isSymbolicLink() ?? false, sagaId).toBe(false);
    }

    // The next job on the same mirror commits (git add would run a planted clean filter on every file): no marker, and it works.
    script.on('next', 'coder', turns([tools(['write_file', { path: 'next.txt', content: 'next\n' }]), tools(['finish', { summary: 'next' }])]));
    await code('next', 'FR-120');
    const next = await answerOf('next');
    expect(next.kind).toBe('coded');
    if (next.kind === 'coded') expect(next.event.payload).toMatchObject({ commits: 1, filesChanged: ['next.txt'] });
    expect(existsSync(marker)).toBe(false);
    expect(treeDigest(victimDir)).toEqual(before.victim);
    expect(mirrorConfig()).toEqual(before.mirror);
  }, 600_000);
});
