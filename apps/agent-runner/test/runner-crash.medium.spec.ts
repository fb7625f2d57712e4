import type { ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type Envelope, type PayloadOf } from '@agency/contracts';
import { sampleFr, sampleStrategy } from '@agency/contracts/testing';
import { ArtifactStore, BusConnection, BusPublisher, Clock } from '@agency/messaging';
import { expectEventually, readStream, startFakeLlm, startNatsServer, tempDir, type FakeLlm, type NatsServerHandle, type TempDir } from '@agency/testing';
import { LABELS } from '../src/sandbox/docker/container-spec.js';
import type { DockerEngine } from '../src/sandbox/docker/docker.engine.js';
import { requireDocker } from './support/docker-sandbox.js';
import { git, makeGreeterForge, VAULT_PATH, type GreeterForge } from './support/greeter-forge.js';
import { tools, turns } from './support/scripts.js';
import { buildRunner, runnerEnv, spawnRunner } from './support/spawned-runner.js';

const API_KEY = 'crash-test-key';
const OWNER = `test-crash-${process.pid}`;

/**
 * The runner as production runs it: its own process from dist/, killed with SIGKILL in the middle
 * of a job (a command hanging in its sandbox), then started again.
 */
describe('a runner killed with SIGKILL mid-job', () => {
  let engine: DockerEngine;
  let nats: NatsServerHandle;
  let llm: FakeLlm;
  let forge: GreeterForge;
  let work: TempDir;
  let bus: BusConnection;
  let publisher: BusPublisher;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    engine = await requireDocker();
    buildRunner();
    nats = await startNatsServer();
    llm = await startFakeLlm(API_KEY);
    forge = makeGreeterForge();
    work = tempDir('runner-crash-');
    bus = await BusConnection.connect({ servers: nats.url, name: 'crash-test' });
    publisher = new BusPublisher(bus, new Clock());
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of await engine.list([`${LABELS.owner}=${OWNER}`]).catch(() => [])) await engine.remove(c.id).catch(() => undefined);
    await bus?.close();
    await llm?.close();
    await nats?.dispose();
    forge?.root.remove();
    work?.remove();
  });

  async function startRunner(): Promise<{ child: ChildProcess; port: number }> {
    const runner = await spawnRunner({
      ...runnerEnv({ natsUrl: nats.url, workDir: work.path, llmUrl: llm.url, apiKey: API_KEY, sandboxOwner: OWNER, vaultPath: VAULT_PATH }),
      HOME: process.env.HOME ?? '/tmp',
      BUS_ACK_WAIT_SECONDS: '6',
      BUS_MAX_DELIVER: '5',
      COMMAND_TIMEOUT_SECONDS: '900',
      // The slot path (the worktree renamed into a warm container's slot, moved back after a crash), as a runner that cannot mount has it.
      SANDBOX_WORKTREE_FS: 'off',
    });
    children.push(runner.child);
    return runner;
  }

  async function events<K extends keyof typeof Messages>(name: K): Promise<Array<Envelope<PayloadOf<(typeof Messages)[K]>>>> {
    const stored = await readStream(bus.js, STREAMS.events.name, Messages[name].subject);
    return stored.map((m) => JSON.parse(m.text) as Envelope<PayloadOf<(typeof Messages)[K]>>).filter((e) => e.sagaId === 'crash');
  }

  it('leaves no container behind after the restart, and the checkpoint commits are still there', async () => {
    let crashed = false;
    const writeA = tools(['write_file', { path: 'a.txt', content: 'a\n' }]);
    const writeB = tools(['write_file', { path: 'b.txt', content: 'b\n' }]);
    const before = turns([writeA, writeB, tools(['run_command', { command: 'echo started; sleep 600' }])]);
    const after = turns([writeA, writeB, tools(['finish', { summary: 'a and b' }])]);
    llm.respond = (call) => (crashed ? after(call) : before(call));

    const first = await startRunner();
    const plan = await new ArtifactStore(bus).putJson('FR-021/crash/plan.json', {
      summary: 'Add a and b',
      steps: [{ title: 'Write them', files: ['a.txt', 'b.txt'], detail: '' }],
      risks: [],
    });
    const fr = { ...sampleFr(), id: 'FR-021', title: 'Crash test', body: 'Write a and b.' };
    await publisher.publish(Messages.Code, {
      frId: 'FR-021',
      sagaId: 'crash',
      jobId: 'job-crash',
      step: 'code-r1',
      attempt: 1,
      payload: {
        fr,
        repo: { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' },
        strategy: { ...sampleStrategy(), plannerModel: 'planner', coderModel: 'coder' },
        plan,
        round: 1,
        findings: [],
      },
    });

    // Mid-job: two checkpoints committed, a command hanging in the job's container.
    const record = join(work.path, 'jobs', 'job-crash.json');
    const jobContainer = await expectEventually(
      async () => {
        expect(llm.calls.length).toBeGreaterThanOrEqual(3);
        const found = (await engine.list([`${LABELS.owner}=${OWNER}`])).find((c) => c.names[0]?.includes('job-crash'));
        expect(found?.state).toBe('running');
        return found!;
      },
      { timeoutMs: 60_000, message: 'the job running a command in its container' },
    );
    const { mirrorDir, branch } = JSON.parse(readFileSync(record, 'utf8')) as { mirrorDir: string; branch: string };
    const checkpoints = git(mirrorDir, 'rev-list', `${forge.baseSha}..${branch}`).split('\n');
    expect(checkpoints).toHaveLength(2);
    expect(lstatSync(join(work.path, 'worktrees', 'job-crash')).isSymbolicLink()).toBe(true);

    first.child.kill('SIGKILL');
    await expectEventually(() => expect(first.child.signalCode).toBe('SIGKILL'), { message: 'runner killed' });
    crashed = true;

    await startRunner();
    // The reaper removed the first life's containers; the worktree came back from its slot.
    const left = await engine.list([`${LABELS.owner}=${OWNER}`]);
    expect(left.filter((c) => c.labels[LABELS.incarnation] === jobContainer.labels[LABELS.incarnation])).toEqual([]);
    expect(await engine.exists(jobContainer.id)).toBe(false);
    expect(lstatSync(join(work.path, 'worktrees', 'job-crash')).isDirectory()).toBe(true);
    // Both checkpoint commits are still in the mirror, on a ref (the branch, or kept after a retry reset it).
    for (const sha of checkpoints) expect(git(mirrorDir, 'for-each-ref', '--contains', sha, '--format=%(refname)')).not.toBe('');

    // The command is delivered again and this time finishes.
    const coded = await expectEventually(
      async () => {
        const found = (await events('Coded'))[0];
        expect(found).toBeDefined();
        return found!;
      },
      { timeoutMs: 60_000, message: 'the redelivered code command done' },
    );
    // The round is one commit on the branch (its checkpoints kept aside).
    expect(coded.payload).toMatchObject({ commits: 1, summary: 'a and b' });
    expect(existsSync(join(work.path, 'worktrees', 'job-crash', 'a.txt'))).toBe(true);
  });

  it('removes its own containers when it shuts down', async () => {
    const running = children.at(-1)!;
    await expectEventually(async () => expect((await engine.list([`${LABELS.owner}=${OWNER}`])).length).toBeGreaterThan(0), {
      timeoutMs: 60_000,
      message: 'a warm container',
    });
    running.kill('SIGTERM');
    await expectEventually(() => expect(running.exitCode !== null || running.signalCode !== null).toBe(true), { timeoutMs: 30_000, message: 'runner stopped' });
    expect(await engine.list([`${LABELS.owner}=${OWNER}`])).toEqual([]);
  });
});
