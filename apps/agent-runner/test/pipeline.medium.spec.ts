import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type CodedEvent, type Envelope, type PlannedEvent, type TestedEvent } from '@agency/contracts';
import { expectEventually } from '@agency/testing';
import { LABELS } from '../src/sandbox/docker/container-spec.js';
import { DockerEngine } from '../src/sandbox/docker/docker.engine.js';
import { git } from './support/greeter-forge.js';
import { API_KEY, RunnerHarness } from './support/runner-harness.js';
import { BROKEN_ANSWER, CODE_ANSWER, FAREWELL_JS, LlmScript, PLAN_ANSWER } from './support/scripts.js';

const h = new RunnerHarness();
const script = new LlmScript();
const BRANCH = 'agency/FR-001-add-a-farewell-function';

describe('agent-runner with real NATS, git and an OpenAI-compatible endpoint', () => {
  let planned: Envelope<PlannedEvent>;
  let coded: Envelope<CodedEvent>;

  beforeAll(async () => {
    await h.start({ TEST_TIMEOUT_SECONDS: '120' });
    h.llm.respond = script.respond;
  });

  afterAll(async () => {
    await h.dispose();
  });

  const ids = (sagaId: string, step: string, attempt = 1) => ({ frId: 'FR-001', sagaId, jobId: `job-${sagaId}`, step, attempt });

  it('plans: Planned with the plan artifact, built from the vault prompt and the repository map', async () => {
    script.on('saga-a', 'planner', PLAN_ANSWER);
    await h.send(Messages.Plan, { ...ids('saga-a', 'plan'), payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy() } });
    planned = await h.answer(Messages.Planned, 'saga-a', 'plan');

    expect(planned.payload).toMatchObject({ summary: 'Add farewell(name) in src/farewell.js and a test for it.', stepCount: 2 });
    expect(planned.payload.plan.key).toBe('FR-001/saga-a/plan.json');
    const stored = await h.artifacts.getJson<{ steps: unknown[]; meta: Record<string, string> }>(planned.payload.plan);
    expect(stored.steps).toHaveLength(2);
    expect(stored.meta).toMatchObject({ frId: 'FR-001', sagaId: 'saga-a', baseSha: h.forge.baseSha, model: 'fake/planner' });

    const call = h.llm.calls.find((c) => c.headers['x-agency-saga-id'] === 'saga-a')!;
    expect(call.model).toBe('planner');
    // The example vault's planner may read first: it is offered the reading tools, so no JSON mode.
    expect(call.tools).toEqual(['list_files', 'read_file', 'search']);
    expect(call.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call.headers).toMatchObject({ 'x-agency-fr-id': 'FR-001', 'x-agency-job-id': 'job-saga-a', 'x-agency-step': 'plan' });
    expect(call.messages[0]!.content).toContain('You are the planner of an autonomous coding agency');
    expect(call.messages[1]!.content).toContain('src/greet.js (');
    expect(call.messages[1]!.content).toContain('`farewell("Ada")` returns `"Goodbye, Ada!"`.');
    // The step started with a heartbeat, under its own message id.
    expect((await h.events(Messages.AgentHeartbeat, 'saga-a')).map((e) => e.step)).toContain('plan');
  });

  it('codes: a commit on the job branch, a bundle that applies in a fresh clone, the diff of base..head', async () => {
    script.on('saga-a', 'coder', CODE_ANSWER);
    await h.send(Messages.Code, {
      ...ids('saga-a', 'code-r1'),
      payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] },
    });
    coded = await h.answer(Messages.Coded, 'saga-a', 'code-r1');
    const p = coded.payload;

    expect(p).toMatchObject({ round: 1, commits: 1, summary: 'Added farewell() and its test.' });
    expect([...p.filesChanged].sort()).toEqual(['src/farewell.js', 'test/farewell.test.js']);
    expect(p.workspace.branch).toBe(BRANCH);
    expect(p.workspace.baseSha).toBe(h.forge.baseSha);
    expect(p.workspace.bundle).toMatchObject({ key: 'FR-001/saga-a/code-r1.bundle', contentType: 'application/x-git-bundle' });
    expect(p.diff.key).toBe('FR-001/saga-a/code-r1.diff');

    // The worktree holds the commit, by the agency, on the branch.
    const worktree = join(h.workDir.path, 'worktrees', 'job-saga-a');
    expect(git(worktree, 'rev-parse', 'HEAD')).toBe(p.workspace.headSha);
    expect(git(worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(BRANCH);
    // One commit for the round, named after the FR, with the coder's summary as its body.
    expect(git(worktree, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s|%b')).toBe(
      'Agency <agency@localhost>|Agency <agency@localhost>|FR-001: Add a farewell function|Added farewell() and its test.\n\nAgency-Saga: saga-a\nAgency-Step: code-r1',
    );

    // The bundle applies cleanly in a fresh clone of the forge.
    const clone = h.forge.freshClone('check-r1');
    const bundleFile = join(h.forge.root.path, 'r1.bundle');
    writeFileSync(bundleFile, await h.artifacts.get(p.workspace.bundle));
    expect(git(clone, 'bundle', 'verify', bundleFile)).toContain(`${p.workspace.headSha} refs/heads/${BRANCH}`);
    git(clone, 'fetch', '-q', bundleFile, `refs/heads/${BRANCH}:refs/heads/${BRANCH}`);
    expect(git(clone, 'rev-parse', BRANCH)).toBe(p.workspace.headSha);
    git(clone, 'checkout', '-q', BRANCH);
    expect(readFileSync(join(clone, 'src/farewell.js'), 'utf8')).toBe(FAREWELL_JS);

    // The diff artifact is git's diff of base..head.
    const diff = await h.artifacts.getText(p.diff);
    expect(diff).toBe(`${git(clone, 'diff', h.forge.baseSha, p.workspace.headSha)}\n`);
    expect(diff).toContain('+export function farewell(name) {');
  });

  it('does not commit twice when the code command is delivered again', async () => {
    const callsBefore = h.llm.calls.length;
    // Same saga, step and attempt; a new Nats-Msg-Id so JetStream does not drop it as a duplicate.
    await h.send(
      Messages.Code,
      { ...ids('saga-a', 'code-r1'), payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] } },
      { msgId: 'redelivered-code-r1' },
    );
    await expectEventually(async () => expect((await h.bus.jsm.streams.info(STREAMS.commands.name)).state.messages).toBe(0), {
      timeoutMs: 15_000,
      message: 'command consumed',
    });
    const worktree = join(h.workDir.path, 'worktrees', 'job-saga-a');
    expect(git(worktree, 'rev-list', '--count', `${h.forge.baseSha}..HEAD`)).toBe('1');
    expect(git(worktree, 'rev-parse', 'HEAD')).toBe(coded.payload.workspace.headSha);
    expect(h.llm.calls.length).toBe(callsBefore);
  });

  it('tests: Tested passed for the greeter tests, with counts and a report', async () => {
    await h.send(Messages.Test, { ...ids('saga-a', 'test-r1'), payload: { repo: h.repo(), workspace: coded.payload.workspace, round: 1 } });
    const tested = await h.answer(Messages.Tested, 'saga-a', 'test-r1');
    expect(tested.payload).toMatchObject({
      round: 1,
      passed: true,
      exitCode: 0,
      timedOut: false,
      headSha: coded.payload.workspace.headSha,
      failureExcerpt: '',
    });
    expect(tested.payload.counts).toEqual({ total: 2, passed: 2, failed: 0, skipped: 0 });
    const report = await h.artifacts.getJson<Record<string, unknown>>(tested.payload.report);
    expect(tested.payload.report.key).toBe('FR-001/saga-a/test-r1.json');
    expect(report).toMatchObject({ command: 'node --test', exitCode: 0, timedOut: false, format: 'node', counts: { total: 2, passed: 2 } });
    expect(String(report.outputTail)).toContain('farewell says goodbye');
    // Run in a Docker sandbox (an engine answers), with per-test results.
    expect(report.sandbox).toBe('docker');
    expect(report.tests).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'farewell says goodbye', status: 'passed' }),
        expect.objectContaining({ name: 'greet says hello', status: 'passed' }),
      ]),
    );
  });

  let brokenTested: TestedEvent;
  it('tests: Tested failed, with counts and the failure, for a change that breaks a test', async () => {
    script.on('saga-b', 'coder', BROKEN_ANSWER);
    await h.send(Messages.Code, {
      ...ids('saga-b', 'code-r1'),
      payload: { fr: h.fr('FR-002', 'Terse greeting'), repo: h.repo(), strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] },
    });
    const broken = await h.answer(Messages.Coded, 'saga-b', 'code-r1');
    expect(broken.payload.workspace.branch).toBe('agency/FR-002-terse-greeting');
    await h.send(Messages.Test, { ...ids('saga-b', 'test-r1'), payload: { repo: h.repo(), workspace: broken.payload.workspace, round: 1 } });
    brokenTested = (await h.answer(Messages.Tested, 'saga-b', 'test-r1')).payload;
    expect(brokenTested).toMatchObject({ passed: false, exitCode: 1, timedOut: false, counts: { total: 1, passed: 0, failed: 1, skipped: 0 } });
    expect(brokenTested.failureExcerpt).toContain('[test command "node --test" exited with code 1]');
    expect(brokenTested.failureExcerpt).toContain('greet says hello');
  });

  it('publishes a retryable step-failed LLM_ANSWER_INVALID when the model gives no JSON, even after the repair turns', async () => {
    script.on('saga-c', 'planner', 'Sure! Here is my plan: first, we add a function...');
    await h.send(Messages.Plan, { ...ids('saga-c', 'plan'), payload: { fr: h.fr('FR-003', 'Anything'), repo: h.repo(), strategy: h.strategy() } });
    const failed = await h.answer(Messages.AgentStepFailed, 'saga-c', 'plan');
    expect(failed.payload).toMatchObject({ code: 'LLM_ANSWER_INVALID', retryable: true });
    expect(failed.payload.reason).toContain('gave no usable JSON after 2 repair turn(s)');
    const calls = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'saga-c');
    expect(calls).toHaveLength(3);
    expect(calls[1]!.messages.at(-1)!.content).toContain('Your answer could not be used: not valid JSON');
    expect(await h.events(Messages.Planned, 'saga-c')).toEqual([]);
  });

  it('cleans up: worktree and local branch removed, and a second cleanup finds nothing', async () => {
    const worktree = join(h.workDir.path, 'worktrees', 'job-saga-a');
    expect(existsSync(worktree)).toBe(true);
    await h.send(Messages.Cleanup, { ...ids('saga-a', 'cleanup'), payload: { reason: 'saga done' } });
    expect((await h.answer(Messages.Cleaned, 'saga-a', 'cleanup')).payload).toEqual({ removed: true });
    expect(existsSync(worktree)).toBe(false);
    const mirror = readFileSync(join(h.workDir.path, 'jobs', 'job-saga-b.json'), 'utf8');
    const mirrorDir = (JSON.parse(mirror) as { mirrorDir: string }).mirrorDir;
    expect(git(mirrorDir, 'branch', '--list', BRANCH)).toBe('');
    expect(git(mirrorDir, 'worktree', 'list')).not.toContain('job-saga-a');

    await h.send(Messages.Cleanup, { ...ids('saga-a', 'cleanup', 2), payload: { reason: 'again' } });
    const second = await h.answer(Messages.Cleaned, 'saga-a', 'cleanup', 2);
    expect(second.payload).toEqual({ removed: false });
  });

  it('kills a hanging test command and its children at the timeout and reports timedOut', async () => {
    // The suite's runner has a generous limit (a busy machine must not time out a real test run);
    // this one gets a runner of its own with a short one. It rebuilds the worktree from the bundle.
    await h.stopRunner();
    await h.startRunner({ TEST_TIMEOUT_SECONDS: '4' });
    const hang = "sleep 300 & echo $! > hang.pid; echo 'waiting forever'; wait";
    await h.send(Messages.Test, {
      ...ids('saga-a', 'test-r1', 2),
      payload: { repo: h.repo({ testCommand: hang }), workspace: coded.payload.workspace, round: 1 },
    });
    const tested = (await h.answer(Messages.Tested, 'saga-a', 'test-r1', 2)).payload;
    expect(tested).toMatchObject({ passed: false, timedOut: true, counts: { total: 0, passed: 0, failed: 0, skipped: 0 } });
    expect(tested.durationMs).toBeGreaterThanOrEqual(4000);
    expect(tested.failureExcerpt).toContain('timed out after 4 s and was killed');
    expect(tested.failureExcerpt).toContain('waiting forever');
    // It ran in the job's sandbox container, which is gone with everything in it.
    const engine = new DockerEngine();
    await expectEventually(
      async () =>
        expect((await engine.list([`${LABELS.owner}=${h.sandboxOwner}`])).map((c) => c.names[0]).filter((n) => n?.includes('job-saga-a'))).toEqual([]),
      { message: "the job's container removed" },
    );
  });
});
