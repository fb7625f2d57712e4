import { join } from 'node:path';
import { Messages, type DeadLetteredEvent, type PrOpenedEvent, type StepFailedEvent } from '@agency/contracts';
import { AgentClone, git } from './support/forge-fixture.js';
import { ServiceHarness } from './support/service-harness.js';

const FAREWELL = 'export function farewell(name) {\n  return `Goodbye, ${name}!`;\n}\n';
const BRANCH = 'agency/FR-001-add-a-farewell-function';

describe('git-service open-pr against real git, a real file system and a real nats-server', () => {
  let h: ServiceHarness;
  let clone: AgentClone;
  let head1: string;

  beforeAll(async () => {
    h = await ServiceHarness.start();
    clone = new AgentClone(h.fixture, 'agent-fr-001', BRANCH);
    head1 = clone.commit({ 'src/farewell.js': FAREWELL }, 'Add farewell()');
  });

  afterAll(async () => {
    await h?.stop();
  });

  const reflog = (ref: string) => git(h.fixture.bare, 'reflog', 'show', '--format=%H', ref).split('\n').filter(Boolean);

  it('pushes the bundle to the agency branch and opens one PR, however often the command is delivered', async () => {
    const bundle = await h.putBundle('FR-001/saga-a/code-r1.bundle', clone.bundle(h.fixture.baseSha));
    const env = h.openPrCommand({ frId: 'FR-001', title: 'Add a farewell function', sagaId: 'saga-a', branch: BRANCH, headSha: head1, bundle });
    // Three copies at once: they race through the idempotency guard and meet at the repository lock.
    await h.deliver(Messages.OpenPr, env, env, env);

    const opened = await h.events<PrOpenedEvent>(Messages.PrOpened.type, 'saga-a');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.payload).toEqual({ number: 1, url: 'local://example/greeter/pulls/1', branch: BRANCH, headSha: head1, draft: false, created: true });
    expect(opened[0]).toMatchObject({ frId: 'FR-001', step: 'open-pr', attempt: 1, jobId: 'job-saga-a' });

    // The forge's branch has the agent's commit; its base and every other branch are untouched.
    expect(git(h.fixture.bare, 'rev-parse', `refs/heads/${BRANCH}`)).toBe(head1);
    expect(git(h.fixture.bare, 'show', `${BRANCH}:src/farewell.js`)).toContain('Goodbye');
    expect(git(h.fixture.bare, 'rev-parse', 'refs/heads/main')).toBe(h.fixture.baseSha);
    expect(reflog(`refs/heads/${BRANCH}`)).toEqual([head1]);
    expect(h.fixture.hookRan()).toBe(false);

    const pr = h.record(1);
    expect(pr).toMatchObject({
      number: 1,
      url: 'local://example/greeter/pulls/1',
      repo: 'example/greeter',
      title: 'FR-001: Add a farewell function',
      branch: BRANCH,
      base: 'main',
      headSha: head1,
      state: 'open',
      draft: false,
      labels: ['agency', 'tier:small'],
      mergedAt: null,
      mergeSha: null,
      frId: 'FR-001',
      sagaId: 'saga-a',
      jobId: 'job-saga-a',
    });
    expect(pr.pushes).toEqual([{ headSha: head1, at: pr.createdAt }]);
    expect(pr.body).toContain('## FR-001: Add a farewell function');
    expect(pr.body).toContain('- [ ] farewell("Ada") returns "Goodbye, Ada!"');
    expect(pr.body).toContain('Add src/farewell.js exporting farewell(name).');
    expect(pr.body).toContain('passed: 2 passed, 0 failed');
    expect(pr.body).toContain('1. round 1: approve (confidence 0.92');
    expect(pr.body).toContain('### Cost\n\n$0.0213 (model usage for FR-001');
    expect(pr.body).toContain(`[Open the trace](http://localhost:16686/trace/${'e'.repeat(32)})`);
    expect(((await h.http('GET', '/forge/local/repos/example/greeter/pulls').then((r) => r.json())) as { pulls: unknown[] }).pulls).toHaveLength(1);
  });

  it('finds the PR instead of opening another when the step is re-driven (attempt 2)', async () => {
    const bundle = await h.putBundle('FR-001/saga-a/code-r1.bundle', clone.bundle(h.fixture.baseSha));
    await h.deliver(
      Messages.OpenPr,
      h.openPrCommand({ frId: 'FR-001', title: 'Add a farewell function', sagaId: 'saga-a', attempt: 2, branch: BRANCH, headSha: head1, bundle }),
    );

    const opened = await h.events<PrOpenedEvent>(Messages.PrOpened.type, 'saga-a');
    expect(opened.map((e) => [e.attempt, e.payload.number, e.payload.created])).toEqual([
      [1, 1, true],
      [2, 1, false],
    ]);
    expect(h.record(1).pushes).toHaveLength(1);
    expect(reflog(`refs/heads/${BRANCH}`)).toEqual([head1]);
  });

  it('a fix round with more commits pushes them and updates the same PR', async () => {
    h.fixture.trapHooks(join(h.fixture.workDir, 'mirrors', 'example', 'greeter.git'));
    const head2 = clone.commit({ 'test/farewell.test.js': "import { farewell } from '../src/farewell.js';\n" }, 'Test farewell()');
    const bundle = await h.putBundle('FR-001/saga-a/code-r2.bundle', clone.bundle(h.fixture.baseSha));
    const rounds = [
      'round 1: request_changes (confidence 0.80, 1 finding(s), 1 blocking): add a test',
      'round 2: approve (confidence 0.95, 0 finding(s), 0 blocking): good',
    ];
    await h.deliver(
      Messages.OpenPr,
      h.openPrCommand({
        frId: 'FR-001',
        title: 'Add a farewell function',
        sagaId: 'saga-a',
        step: 'open-pr-r2',
        branch: BRANCH,
        headSha: head2,
        bundle,
        reviewRounds: rounds,
        draft: true,
      }),
    );

    const [latest] = (await h.events<PrOpenedEvent>(Messages.PrOpened.type, 'saga-a')).filter((e) => e.step === 'open-pr-r2');
    expect(latest!.payload).toEqual({ number: 1, url: 'local://example/greeter/pulls/1', branch: BRANCH, headSha: head2, draft: true, created: false });
    expect(git(h.fixture.bare, 'rev-parse', `refs/heads/${BRANCH}`)).toBe(head2);
    expect(git(h.fixture.bare, 'merge-base', '--is-ancestor', head1, head2)).toBe('');
    expect(reflog(`refs/heads/${BRANCH}`)).toEqual([head2, head1]);
    const pr = h.record(1);
    expect(pr.headSha).toBe(head2);
    expect(pr.draft).toBe(true);
    expect(pr.pushes.map((p) => p.headSha)).toEqual([head1, head2]);
    expect(pr.body).toContain('2. round 2: approve');
    expect(pr.body).toContain('**Draft');
    expect(h.fixture.hookRan()).toBe(false);
    expect(((await h.http('GET', '/forge/local/repos/example/greeter/pulls').then((r) => r.json())) as { pulls: unknown[] }).pulls).toHaveLength(1);
  });

  it('refuses to push the base branch or any branch outside agency/, naming the branch', async () => {
    const other = new AgentClone(h.fixture, 'agent-rogue', 'feature/x');
    const rogue = other.commit({ 'src/rogue.js': 'export const rogue = 1;\n' }, 'Rogue change');
    const bundle = await h.putBundle('FR-009/saga-rogue/code.bundle', other.bundle(h.fixture.baseSha));
    for (const [sagaId, branch] of [
      ['saga-main', 'main'],
      ['saga-feature', 'feature/x'],
    ] as const) {
      await h.deliver(Messages.OpenPr, h.openPrCommand({ frId: 'FR-009', title: 'Rogue', sagaId, branch, headSha: rogue, bundle }));
      const dead = await h.events<DeadLetteredEvent>(Messages.GitDeadLettered.type, sagaId);
      expect(dead).toHaveLength(1);
      expect(dead[0]!.payload.reason).toContain(`refusing to push branch "${branch}"`);
      expect(await h.events(Messages.PrOpened.type, sagaId)).toHaveLength(0);
    }
    expect(git(h.fixture.bare, 'rev-parse', 'refs/heads/main')).toBe(h.fixture.baseSha);
    expect(git(h.fixture.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/feature')).toBe('');
  });

  it('refuses to force-push over a branch that does not lead to the new head', async () => {
    const branch = 'agency/FR-003-diverging';
    const first = new AgentClone(h.fixture, 'agent-fr-003-a', branch);
    const a = first.commit({ 'src/a.js': 'export const a = 1;\n' }, 'A');
    await h.deliver(
      Messages.OpenPr,
      h.openPrCommand({
        frId: 'FR-003',
        title: 'Diverging',
        sagaId: 'saga-c',
        branch,
        headSha: a,
        bundle: await h.putBundle('FR-003/a.bundle', first.bundle(h.fixture.baseSha)),
      }),
    );
    expect(git(h.fixture.bare, 'rev-parse', `refs/heads/${branch}`)).toBe(a);

    const second = new AgentClone(h.fixture, 'agent-fr-003-b', branch);
    const b = second.commit({ 'src/b.js': 'export const b = 2;\n' }, 'B');
    await h.deliver(
      Messages.OpenPr,
      h.openPrCommand({
        frId: 'FR-003',
        title: 'Diverging',
        sagaId: 'saga-c',
        step: 'open-pr-r2',
        branch,
        headSha: b,
        bundle: await h.putBundle('FR-003/b.bundle', second.bundle(h.fixture.baseSha)),
      }),
    );
    const failed = await h.events<StepFailedEvent>(Messages.GitStepFailed.type, 'saga-c');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.payload).toMatchObject({ code: 'BRANCH_DIVERGED', retryable: false });
    expect(failed[0]!.payload.reason).toContain(`${branch} on the forge is at ${a}`);
    expect(git(h.fixture.bare, 'rev-parse', `refs/heads/${branch}`)).toBe(a);
  });

  it('refuses a bundle whose head is not the workspace head', async () => {
    const branch = 'agency/FR-004-mismatch';
    const c = new AgentClone(h.fixture, 'agent-fr-004', branch);
    c.commit({ 'src/m.js': 'export const m = 1;\n' }, 'M');
    const bundle = await h.putBundle('FR-004/m.bundle', c.bundle(h.fixture.baseSha));
    await h.deliver(Messages.OpenPr, h.openPrCommand({ frId: 'FR-004', title: 'Mismatch', sagaId: 'saga-d', branch, headSha: 'f'.repeat(40), bundle }));
    const dead = await h.events<DeadLetteredEvent>(Messages.GitDeadLettered.type, 'saga-d');
    expect(dead[0]!.payload.reason).toContain(`does not contain head ${'f'.repeat(40)}`);
    expect(git(h.fixture.bare, 'for-each-ref', '--format=%(refname)', `refs/heads/${branch}`)).toBe('');
  });
});
