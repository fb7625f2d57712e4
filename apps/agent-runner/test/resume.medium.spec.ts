import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type CodeCommand, type Envelope, type PayloadOf } from '@agency/contracts';
import { sampleFr, sampleStrategy } from '@agency/contracts/testing';
import { ArtifactStore, BusConnection, BusPublisher, Clock } from '@agency/messaging';
import {
  expectEventually,
  readStream,
  startFakeLlm,
  startNatsServer,
  tempDir,
  type FakeLlmCall,
  type FakeLlmReply,
  type FakeLlm,
  type NatsServerHandle,
  type TempDir,
} from '@agency/testing';
import { git, makeGreeterForge, VAULT_PATH, type GreeterForge } from './support/greeter-forge.js';
import { releaseJobDisks } from './support/job-disks.js';
import { RunnerHarness } from './support/runner-harness.js';
import { tools, turns } from './support/scripts.js';
import { buildRunner, spawnRunner, type SpawnedRunner } from './support/spawned-runner.js';

const writeA = tools(['write_file', { path: 'a.txt', content: 'a\n' }]);
const writeB = tools(['write_file', { path: 'b.txt', content: 'b\n' }]);
const writeC = tools(['write_file', { path: 'c.txt', content: 'c\n' }]);
const finish = tools(['finish', { summary: 'a, b and c' }]);

/** The task message of a coder call. */
const taskOf = (call: FakeLlmCall) => call.messages[1]!.content;

/** A resumed coder writes what is left; one that started over would write a.txt first again. */
const resumed = turns([writeC, finish]);

/** Reads `git log` of the job's branch in its mirror (the record says where). */
function branchLog(workDir: string, jobId: string): { mirrorDir: string; branch: string; subjects: (rev: string) => string[] } {
  const { mirrorDir, branch } = JSON.parse(readFileSync(join(workDir, 'jobs', `${jobId}.json`), 'utf8')) as { mirrorDir: string; branch: string };
  return { mirrorDir, branch, subjects: (rev) => git(mirrorDir, 'log', '--format=%s', rev).split('\n') };
}

/**
 * Issue 11 item 4: a coder step run again after it stopped resumes from its checkpoint commits
 * (its prompt says so, the files hold the earlier work, the round keeps it) instead of starting
 * again from the round's start.
 */
describe("a re-driven coder step resumes from the stopped attempt's checkpoints", () => {
  const h = new RunnerHarness();

  beforeAll(async () => {
    await h.start({ SANDBOX: 'process' });
  });

  afterAll(async () => {
    await h.dispose();
  });

  it('attempt 2 of a step whose attempt 1 failed after two checkpoints, on another runner', async () => {
    // Attempt 1 writes a and b, then its call fails at once (a 400 is not retried within the attempt).
    const first = turns([writeA, writeB, { status: 400, message: 'context window exceeded' }]);
    h.llm.respond = (call) => (call.headers['x-agency-attempt'] === '2' || taskOf(call).includes('# Resuming') ? resumed(call) : first(call));
    const plan = await h.artifacts.putJson('FR-050/resume/plan.json', {
      summary: 'Write a, b, c',
      steps: [{ title: 'abc', files: ['a.txt'], detail: '' }],
      risks: [],
    });
    const code = (attempt: number) =>
      h.send(Messages.Code, {
        frId: 'FR-050',
        sagaId: 'resume',
        jobId: 'job-resume',
        step: 'code-r1',
        attempt,
        payload: { fr: { ...h.fr('FR-050', 'Resume me'), body: 'Write a, b and c.' }, repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
      });
    await code(1);
    const failed = await h.answer(Messages.AgentStepFailed, 'resume', 'code-r1', 1, 60_000);
    expect(failed.payload.code).toBe('LLM_REQUEST_REJECTED');

    // The saga re-drives the step; it lands on another runner (a fresh WORK_DIR).
    await h.stopRunner();
    await h.startRunner({ SANDBOX: 'process' });
    await code(2);
    const coded = (await h.answer(Messages.Coded, 'resume', 'code-r1', 2, 60_000)).payload;

    const attempt2 = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'resume' && c.messages.filter((m) => m.role === 'assistant').length === 0);
    const task = taskOf(attempt2.at(-1)!);
    expect(task).toContain('# Resuming\n\nAttempt 1 of this round stopped');
    expect(task).toContain('FR-050: write_file a.txt (round 1, step 1)');
    expect(task).toContain('FR-050: write_file b.txt (round 1, step 2)');
    expect(coded).toMatchObject({ commits: 1, summary: 'a, b and c' });
    expect([...coded.filesChanged].sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    // The round's commit holds both attempts' work; the checkpoints kept aside start with attempt 1's.
    const log = branchLog(h.workDir.path, 'job-resume');
    expect(git(log.mirrorDir, 'show', '--format=', '--name-only', log.branch).split('\n').sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(log.subjects(`${h.forge.baseSha}..refs/agency/checkpoints/job-resume/r1-a2`)).toEqual([
      'FR-050: write_file c.txt (round 1, step 1)',
      'FR-050: write_file b.txt (round 1, step 2)',
      'FR-050: write_file a.txt (round 1, step 1)',
    ]);
  });
});

/** The runner as production runs it, killed with SIGKILL while its coder waits for the model, then started again on the same disk. */
describe('a coder step redelivered after its runner was killed mid-step', () => {
  let nats: NatsServerHandle;
  let llm: FakeLlm;
  let forge: GreeterForge;
  let work: TempDir;
  let bus: BusConnection;
  const runners: SpawnedRunner[] = [];
  const API_KEY = 'resume-crash-key';

  beforeAll(async () => {
    buildRunner();
    nats = await startNatsServer();
    llm = await startFakeLlm(API_KEY);
    forge = makeGreeterForge();
    work = tempDir('resume-crash-');
    bus = await BusConnection.connect({ servers: nats.url, name: 'resume-crash-test' });
  });

  afterAll(async () => {
    for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await bus?.close();
    await llm?.close();
    await nats?.dispose();
    forge?.root.remove();
    if (work) await releaseJobDisks(work.path);
    work?.remove();
  });

  const startRunner = async (workDir = work.path) => {
    const runner = await spawnRunner({
      HOME: process.env.HOME ?? '/tmp',
      NATS_URL: nats.url,
      VAULT_PATH,
      WORK_DIR: workDir,
      LLM_GATEWAY_URL: llm.url,
      LLM_GATEWAY_API_KEY: API_KEY,
      HEARTBEAT_SECONDS: '1',
      SANDBOX: 'process',
      BUS_ACK_WAIT_SECONDS: '4',
      BUS_MAX_DELIVER: '5',
    });
    runners.push(runner);
    return runner;
  };

  async function events<K extends keyof typeof Messages>(name: K, sagaId = 'resume-crash'): Promise<Array<Envelope<PayloadOf<(typeof Messages)[K]>>>> {
    const stored = await readStream(bus.js, STREAMS.events.name, Messages[name].subject);
    return stored.map((m) => JSON.parse(m.text) as Envelope<PayloadOf<(typeof Messages)[K]>>).filter((e) => e.sagaId === sagaId);
  }

  /** The code command of round 1 (attempt 1) for an FR that writes a, b and c. */
  async function sendCode(frId: string, sagaId: string, title: string): Promise<void> {
    const plan = await new ArtifactStore(bus).putJson(`${frId}/${sagaId}/plan.json`, {
      summary: 'Write a, b, c',
      steps: [{ title: 'abc', files: ['a.txt'], detail: '' }],
      risks: [],
    });
    const payload: CodeCommand = {
      fr: { ...sampleFr(), id: frId, title, body: 'Write a, b and c.' },
      repo: { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' },
      strategy: { ...sampleStrategy(), plannerModel: 'planner', coderModel: 'coder' },
      plan,
      round: 1,
      findings: [],
    };
    await new BusPublisher(bus, new Clock()).publish(Messages.Code, { frId, sagaId, jobId: `job-${sagaId}`, step: 'code-r1', attempt: 1, payload });
  }

  async function coded(sagaId: string): Promise<Envelope<PayloadOf<typeof Messages.Coded>>> {
    return expectEventually(
      async () => {
        const found = (await events('Coded', sagaId))[0];
        expect(found).toBeDefined();
        return found!;
      },
      { timeoutMs: 60_000, message: 'the redelivered code command done' },
    );
  }

  it('resumes from the checkpoints the killed run committed', async () => {
    let killed = false;
    const before = turns([writeA, writeB, { hang: true }]);
    const after = (call: FakeLlmCall): FakeLlmReply => (taskOf(call).includes('# Resuming') ? resumed(call) : turns([writeA, writeB, writeC, finish])(call));
    llm.respond = (call) => (killed ? after(call) : before(call));
    const first = await startRunner();
    await sendCode('FR-051', 'resume-crash', 'Crash and resume');
    // Mid-step: two checkpoints committed, the third model call held.
    await expectEventually(() => expect(llm.calls).toHaveLength(3), { timeoutMs: 60_000, message: "the coder's third call, held by the model" });
    first.child.kill('SIGKILL');
    await expectEventually(() => expect(first.child.signalCode).toBe('SIGKILL'), { message: 'runner killed' });
    killed = true;

    await startRunner();
    // JetStream delivers the unacknowledged command again.
    const done = await coded('resume-crash');
    const task = taskOf(llm.calls[3]!);
    expect(task).toContain('# Resuming');
    expect(task).toContain('FR-051: write_file a.txt (round 1, step 1)');
    expect(task).toContain('FR-051: write_file b.txt (round 1, step 2)');
    expect(done.payload).toMatchObject({ commits: 1, summary: 'a, b and c' });
    expect([...done.payload.filesChanged].sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    // Two model calls after the restart: nothing was done twice.
    expect(llm.calls).toHaveLength(5);
    const log = branchLog(work.path, 'job-resume-crash');
    expect(log.subjects(`${forge.baseSha}..refs/agency/checkpoints/job-resume-crash/r1-a1`)).toEqual([
      'FR-051: write_file c.txt (round 1, step 1)',
      'FR-051: write_file b.txt (round 1, step 2)',
      'FR-051: write_file a.txt (round 1, step 1)',
    ]);
  });

  it('resumes on another runner, with another disk, from the checkpoints the killed run handed over', async () => {
    // The runners of the test before are stopped: only A, then B, may take the command.
    for (const r of runners) await r.stop();
    const saga = 'resume-move';
    const ofSaga = () => llm.calls.filter((c) => c.headers['x-agency-saga-id'] === saga);
    let killed = false;
    const before = turns([writeA, { hang: true }]);
    const writeBc = tools(['write_file', { path: 'b.txt', content: 'b\n' }], ['write_file', { path: 'c.txt', content: 'c\n' }]);
    const after = (call: FakeLlmCall): FakeLlmReply => turns(taskOf(call).includes('# Resuming') ? [writeBc, finish] : [writeA, writeBc, finish])(call);
    llm.respond = (call) => (killed ? after(call) : before(call));
    const diskA = tempDir('resume-disk-a-');
    const diskB = tempDir('resume-disk-b-');
    try {
      const a = await startRunner(diskA.path);
      await sendCode('FR-052', saga, 'Move and resume');
      // Mid-step: one checkpoint committed and handed over to the object store, the second model call held.
      const note = await expectEventually(
        async () => {
          expect(ofSaga()).toHaveLength(2);
          const found = await new ArtifactStore(bus).find('FR-052/resume-move/code-r1-a1.checkpoint.json');
          expect(found).toBeDefined();
          return JSON.parse(new TextDecoder().decode(found!.data)) as { headSha: string; commits: string[] };
        },
        { timeoutMs: 30_000, message: "the first checkpoint handed over while the coder's second call is held" },
      );
      expect(note.commits).toEqual(['FR-052: write_file a.txt (round 1, step 1)']);
      a.child.kill('SIGKILL');
      await expectEventually(() => expect(a.child.signalCode).toBe('SIGKILL'), { message: 'runner A killed' });
      killed = true;

      // Runner B has none of A's disk: JetStream delivers the unacknowledged command to it.
      await startRunner(diskB.path);
      const done = await coded(saga);
      const task = taskOf(ofSaga()[2]!);
      expect(task).toContain('# Resuming\n\nAttempt 1 of this round stopped (its runner stopped in the middle of it)');
      expect(task).toContain('FR-052: write_file a.txt (round 1, step 1)');
      expect(ofSaga()).toHaveLength(4);
      expect(done.payload).toMatchObject({ commits: 1, summary: 'a, b and c' });
      expect([...done.payload.filesChanged].sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
      // B's worktree holds A's work; the PR branch is one round commit with A's and B's work.
      const worktree = join(diskB.path, 'worktrees', `job-${saga}`);
      expect(readFileSync(join(worktree, 'a.txt'), 'utf8')).toBe('a\n');
      const log = branchLog(diskB.path, `job-${saga}`);
      expect(log.subjects(`${forge.baseSha}..${log.branch}`)).toEqual(['FR-052: Move and resume']);
      expect(git(log.mirrorDir, 'show', '--format=', '--name-only', log.branch).split('\n').sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
      expect(log.subjects(`${forge.baseSha}..refs/agency/checkpoints/job-${saga}/r1-a1`)).toEqual([
        'FR-052: write_file c.txt (round 1, step 1)',
        'FR-052: write_file b.txt (round 1, step 1)',
        'FR-052: write_file a.txt (round 1, step 1)',
      ]);
    } finally {
      for (const r of runners) await r.stop();
      for (const disk of [diskA, diskB]) {
        await releaseJobDisks(disk.path);
        disk.remove();
      }
    }
  });
});
