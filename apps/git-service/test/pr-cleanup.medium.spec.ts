import { Messages, type BranchDeletedEvent, type PrClosedEvent, type PrOpenedEvent, type StepFailedEvent } from '@agency/contracts';
import { AgentClone, git } from './support/forge-fixture.js';
import { ServiceHarness } from './support/service-harness.js';

const BRANCH = 'agency/FR-021-add-a-farewell-function';

describe("git-service's clean-up of a stopped run on the local forge (real git, file system and nats-server)", () => {
  let h: ServiceHarness;

  beforeAll(async () => {
    h = await ServiceHarness.start();
  });

  afterAll(async () => {
    await h?.stop();
  });

  const branchSha = (branch: string) => git(h.fixture.bare, 'for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`);

  /** A run's work pushed and its PR opened; returns the head and the PR's number. */
  async function openRun(frId: string, sagaId: string, branch: string, file: string): Promise<{ head: string; number: number }> {
    const clone = new AgentClone(h.fixture, `agent-${sagaId}`, branch);
    const head = clone.commit({ [file]: `export const x = '${sagaId}';\n` }, `Work of ${sagaId}`);
    const bundle = await h.putBundle(`${frId}/${sagaId}/code-r1.bundle`, clone.bundle(h.fixture.baseSha));
    await h.deliver(Messages.OpenPr, h.openPrCommand({ frId, title: 'Add a farewell function', sagaId, branch, headSha: head, bundle }));
    const opened = (await h.events<PrOpenedEvent>(Messages.PrOpened.type, sagaId)).at(-1);
    return { head, number: opened!.payload.number };
  }

  it('closes the PR with the reason and deletes its branch, once however often the command comes; a fresh run then opens a PR of its own', async () => {
    const { head: first } = await openRun('FR-021', 'saga-r1', BRANCH, 'src/one.js');
    expect(branchSha(BRANCH)).toBe(first);

    const close = h.closePrCommand({ frId: 'FR-021', sagaId: 'saga-r1', number: 1, reason: 'cancelled by ada: not needed' });
    await h.deliver(Messages.ClosePr, close, close);
    expect(h.record(1)).toMatchObject({ state: 'closed', comments: [{ body: 'Agency closed this PR: cancelled by ada: not needed' }] });
    expect(branchSha(BRANCH)).toBe('');
    const closed = await h.events<PrClosedEvent>(Messages.PrClosed.type, 'saga-r1');
    expect(closed.map((e) => e.payload)).toEqual([{ number: 1, url: 'local://example/greeter/pulls/1' }]);
    const deleted = await h.events<BranchDeletedEvent>(Messages.BranchDeleted.type, 'saga-r1');
    // The second delivery finds the branch gone and says so; JetStream's dedupe drops its identical events.
    expect(deleted.map((e) => e.payload)).toEqual([{ branch: BRANCH, deleted: true }]);

    // The next run of the FR starts again from the base: its branch is new, its PR too.
    const { head: second } = await openRun('FR-021', 'saga-r2', BRANCH, 'src/two.js');
    const opened = await h.events<PrOpenedEvent>(Messages.PrOpened.type, 'saga-r2');
    expect(opened.map((e) => e.payload)).toEqual([
      { number: 2, url: 'local://example/greeter/pulls/2', branch: BRANCH, headSha: second, draft: false, created: true },
    ]);
    expect(branchSha(BRANCH)).toBe(second);
    // Not built on the stopped run's work: a fresh start from the base.
    expect(() => git(h.fixture.bare, 'merge-base', '--is-ancestor', first, second)).toThrow();
    expect(h.record(2)).toMatchObject({ state: 'open', sagaId: 'saga-r2' });
    expect(h.record(1).state).toBe('closed');
  });

  it('keeps the branch when the saga says so, and ends a branch on its own command: its open PR closed, then deleted', async () => {
    const branch = 'agency/FR-022-keep-me';
    const { head, number } = await openRun('FR-022', 'saga-k', branch, 'src/keep.js');
    await h.deliver(Messages.ClosePr, h.closePrCommand({ frId: 'FR-022', sagaId: 'saga-k', number, reason: 'failed: tests', deleteBranch: false }));
    expect(h.record(number).state).toBe('closed');
    expect(branchSha(branch)).toBe(head);
    expect(await h.events(Messages.BranchDeleted.type, 'saga-k')).toEqual([]);

    await h.deliver(Messages.DeleteBranch, h.deleteBranchCommand({ frId: 'FR-022', sagaId: 'saga-k2', branch }));
    expect(branchSha(branch)).toBe('');
    expect((await h.events<BranchDeletedEvent>(Messages.BranchDeleted.type, 'saga-k2')).map((e) => e.payload)).toEqual([{ branch, deleted: true }]);

    // A run whose PR the saga has not heard of yet: ending its branch closes that PR too.
    const { number: open } = await openRun('FR-022', 'saga-k3', branch, 'src/keep3.js');
    await h.deliver(Messages.DeleteBranch, h.deleteBranchCommand({ frId: 'FR-022', sagaId: 'saga-k3', branch }));
    expect(h.record(open)).toMatchObject({ state: 'closed', comments: [{ body: 'Agency closed this PR: its branch was ended' }] });
    expect(branchSha(branch)).toBe('');
    expect((await h.events<PrClosedEvent>(Messages.PrClosed.type, 'saga-k3')).map((e) => e.payload.number)).toEqual([open]);
  });

  it('tells the saga when the PR is already merged, and refuses the base branch', async () => {
    const { number } = await openRun('FR-023', 'saga-m', 'agency/FR-023-merged', 'src/merged.js');
    expect((await h.http('POST', `/forge/local/repos/example/greeter/pulls/${number}/merge`)).status).toBe(200);
    await h.deliver(Messages.ClosePr, h.closePrCommand({ frId: 'FR-023', sagaId: 'saga-m', number, reason: 'x', step: 'close-pr-x' }));
    const failed = await h.events<StepFailedEvent>(Messages.GitStepFailed.type, 'saga-m');
    expect(failed.map((e) => e.payload.code)).toEqual(['PR_MERGED']);
    expect(h.record(number).state).toBe('merged');

    const mainBefore = branchSha('main');
    await h.deliver(Messages.DeleteBranch, h.deleteBranchCommand({ frId: 'FR-023', sagaId: 'saga-base', branch: 'main' }));
    expect(branchSha('main')).toBe(mainBefore);
    expect(await h.events(Messages.GitDeadLettered.type, 'saga-base')).toHaveLength(1);
  });
});
