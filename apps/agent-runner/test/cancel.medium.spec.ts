import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Messages } from '@agency/contracts';
import { expectEventually } from '@agency/testing';
import { LABELS } from '../src/sandbox/docker/container-spec.js';
import { JobCancellations } from '../src/steps/job-cancellations.js';
import type { DockerEngine } from '../src/sandbox/docker/docker.engine.js';
import { requireDocker } from './support/docker-sandbox.js';
import { RunnerHarness } from './support/runner-harness.js';
import { tools, turns } from './support/scripts.js';

/** A cancelled FR's job: the runner kills what runs in its sandbox and never starts another step of it, whichever replica got the cleanup. */
describe('cancelling a running job', () => {
  const h = new RunnerHarness();
  let engine: DockerEngine;

  beforeAll(async () => {
    engine = await requireDocker();
    await h.start({ SANDBOX: 'docker' });
  });

  afterAll(async () => {
    for (const c of await engine.list([`${LABELS.owner}=${h.sandboxOwner}`]).catch(() => [])) await engine.remove(c.id).catch(() => undefined);
    await h.dispose();
  });

  it('leaves no container and no worktree, and refuses a later step of the job', async () => {
    h.llm.respond = turns([tools(['write_file', { path: 'a.txt', content: 'a\n' }]), tools(['run_command', { command: 'echo started; sleep 600' }])]);
    const plan = await h.artifacts.putJson('FR-031/cancel/plan.json', { summary: 'Write a', steps: [{ title: 'a', files: ['a.txt'], detail: '' }], risks: [] });
    const code = (attempt: number) =>
      h.send(Messages.Code, {
        frId: 'FR-031',
        sagaId: 'cancel',
        jobId: 'job-cancel',
        step: 'code-r1',
        attempt,
        payload: { fr: { ...h.fr('FR-031', 'Cancel me'), body: 'Write a.' }, repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
      });
    await code(1);
    const jobContainers = async () => (await engine.list([`${LABELS.owner}=${h.sandboxOwner}`])).filter((c) => c.names.some((n) => n.includes('job-cancel')));
    // The coder's second turn runs the long command (the tests at the base ran in a container before the first).
    await expectEventually(() => expect(h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'cancel').length).toBeGreaterThanOrEqual(2), {
      timeoutMs: 60_000,
      message: "the coder's second turn",
    });
    await expectEventually(async () => expect((await jobContainers()).map((c) => c.state)).toContain('running'), {
      timeoutMs: 60_000,
      message: 'the job running a command in its container',
    });
    const worktree = join(h.workDir.path, 'worktrees', 'job-cancel');
    expect(existsSync(worktree)).toBe(true);

    await h.send(Messages.Cleanup, {
      frId: 'FR-031',
      sagaId: 'cancel',
      jobId: 'job-cancel',
      step: 'cleanup',
      attempt: 1,
      payload: { reason: 'saga cancelled', cancel: true },
    });
    const cleaned = await h.answer(Messages.Cleaned, 'cancel', 'cleanup');
    expect(cleaned.payload.removed).toBe(true);
    await expectEventually(async () => expect(await jobContainers()).toEqual([]), { timeoutMs: 30_000, message: 'the job container gone' });
    expect(existsSync(worktree)).toBe(false);

    // The saga would never re-drive a cancelled job, but a redelivery or a late copy must not bring it back.
    await code(2);
    const refused = await h.answer(Messages.AgentStepFailed, 'cancel', 'code-r1', 2);
    expect(refused.payload).toMatchObject({ code: 'JOB_CANCELLED', retryable: false });
    expect(await jobContainers()).toEqual([]);
    expect(existsSync(worktree)).toBe(false);
    expect(await h.events(Messages.Coded, 'cancel')).toEqual([]);
  });

  it("ends a job cancelled while it plans: the model call, the environment's setup running beside it, its container and worktree", async () => {
    h.llm.respond = () => ({ hang: true });
    const repo = h.repo({ setupCommand: 'echo setting-up; sleep 600' });
    await h.send(Messages.Plan, {
      frId: 'FR-033',
      sagaId: 'cancel-warm',
      jobId: 'job-cancel-warm',
      step: 'plan',
      attempt: 1,
      payload: { fr: h.fr('FR-033', 'Cancel me while planning'), repo, strategy: h.strategy() },
    });
    const jobContainers = async () =>
      (await engine.list([`${LABELS.owner}=${h.sandboxOwner}`])).filter((c) => c.names.some((n) => n.includes('job-cancel-warm')));
    // The setup runs in the job's environment container while the planner's call is still open.
    await expectEventually(async () => expect((await jobContainers()).map((c) => c.state)).toContain('running'), {
      timeoutMs: 120_000,
      message: "the job's setup running in its container during planning",
    });
    expect(h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'cancel-warm' && !c.abandoned)).toHaveLength(1);
    const worktree = join(h.workDir.path, 'worktrees', 'job-cancel-warm');
    expect(existsSync(worktree)).toBe(true);

    await h.send(Messages.Cleanup, {
      frId: 'FR-033',
      sagaId: 'cancel-warm',
      jobId: 'job-cancel-warm',
      step: 'cleanup',
      attempt: 1,
      payload: { reason: 'saga cancelled', cancel: true },
    });
    // Long before the setup's 600 s: the cleanup waited for a warm-up whose setup was killed, not for the setup.
    const cleaned = await h.answer(Messages.Cleaned, 'cancel-warm', 'cleanup', 1, 120_000);
    expect(cleaned.payload.removed).toBe(true);
    const refused = await h.answer(Messages.AgentStepFailed, 'cancel-warm', 'plan', 1, 60_000);
    expect(refused.payload).toMatchObject({ code: 'JOB_CANCELLED' });
    await expectEventually(async () => expect(await jobContainers()).toEqual([]), { timeoutMs: 30_000, message: 'the job container gone' });
    expect(existsSync(worktree)).toBe(false);
    expect(await h.events(Messages.Planned, 'cancel-warm')).toEqual([]);
  });

  it('ends a job that another replica cancelled: its container and worktree go, and its later steps are refused', async () => {
    h.llm.respond = turns([tools(['write_file', { path: 'b.txt', content: 'b\n' }]), tools(['run_command', { command: 'echo started; sleep 600' }])]);
    const plan = await h.artifacts.putJson('FR-032/cancel/plan.json', { summary: 'Write b', steps: [{ title: 'b', files: ['b.txt'], detail: '' }], risks: [] });
    const code = (attempt: number) =>
      h.send(Messages.Code, {
        frId: 'FR-032',
        sagaId: 'cancel-2',
        jobId: 'job-cancel-2',
        step: 'code-r1',
        attempt,
        payload: { fr: { ...h.fr('FR-032', 'Cancel me elsewhere'), body: 'Write b.' }, repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
      });
    await code(1);
    const jobContainers = async () => (await engine.list([`${LABELS.owner}=${h.sandboxOwner}`])).filter((c) => c.names.some((n) => n.includes('job-cancel-2')));
    await expectEventually(() => expect(h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'cancel-2').length).toBeGreaterThanOrEqual(2), {
      timeoutMs: 60_000,
      message: "the coder's second turn",
    });
    await expectEventually(async () => expect((await jobContainers()).map((c) => c.state)).toContain('running'), {
      timeoutMs: 60_000,
      message: 'the job running a command in its container',
    });
    const worktree = join(h.workDir.path, 'worktrees', 'job-cancel-2');
    expect(existsSync(worktree)).toBe(true);

    // The cleanup command went to another replica: all this runner sees is that replica's mark in KV.
    await new JobCancellations(h.bus).cancel('job-cancel-2', 'saga cancelled');
    await expectEventually(async () => expect(await jobContainers()).toEqual([]), { timeoutMs: 30_000, message: 'the job container gone' });
    await expectEventually(() => expect(existsSync(worktree)).toBe(false), { message: 'the worktree removed' });

    await code(2);
    const refused = await h.answer(Messages.AgentStepFailed, 'cancel-2', 'code-r1', 2);
    expect(refused.payload).toMatchObject({ code: 'JOB_CANCELLED', retryable: false });
    expect(await h.events(Messages.Coded, 'cancel-2')).toEqual([]);
  });
});
