import { join } from 'node:path';
import { Messages, type PrClosedEvent, type PrMergedEvent, type PrOpenedEvent, type PrReviewedEvent, type StepFailedEvent } from '@agency/contracts';
import type { PrDiff, PullRequestRecord } from '../src/forge/forge.js';
import { AgentClone, git } from './support/forge-fixture.js';
import { ServiceHarness } from './support/service-harness.js';

const PULLS = '/forge/local/repos/example/greeter/pulls';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

describe('git-service merge and close: HTTP API and bus, against real git, files and NATS', () => {
  let h: ServiceHarness;

  beforeAll(async () => {
    h = await ServiceHarness.start();
  });

  afterAll(async () => {
    await h?.stop();
  });

  /** An agent's commit on `agency/<frId>-<slug>`, opened as a PR through the bus; returns its number and head. */
  async function openPr(frId: string, slug: string, files: Record<string, string>): Promise<{ number: number; head: string; branch: string; sagaId: string }> {
    const branch = `agency/${frId}-${slug}`;
    const sagaId = `saga-${frId.toLowerCase()}`;
    const clone = new AgentClone(h.fixture, `agent-${frId}`, branch);
    const head = clone.commit(files, `Work on ${frId}`);
    const bundle = await h.putBundle(`${frId}/${sagaId}/code-r1.bundle`, clone.bundle(h.fixture.baseSha));
    await h.deliver(Messages.OpenPr, h.openPrCommand({ frId, title: `Change for ${frId}`, sagaId, branch, headSha: head, bundle }));
    const [opened] = await h.events<PrOpenedEvent>(Messages.PrOpened.type, sagaId);
    expect(opened, `PrOpened for ${sagaId}`).toBeDefined();
    return { number: opened!.payload.number, head, branch, sagaId };
  }

  it('merges over HTTP into the base of the bare repository and tells the saga', async () => {
    const pr = await openPr('FR-001', 'add-a-farewell-function', { 'src/farewell.js': 'export const farewell = (n) => `Goodbye, ${n}!`;\n' });
    expect(pr.number).toBe(1);
    // Hooks the host could have put in git-service's mirror (templates) must not run during the merge.
    h.fixture.trapHooks(join(h.fixture.workDir, 'mirrors', 'example', 'greeter.git'));

    const shown = (await (await h.http('GET', `${PULLS}/1`)).json()) as PullRequestRecord & { diff: PrDiff };
    expect(shown).toMatchObject({ number: 1, state: 'open', headSha: pr.head, branch: pr.branch });
    expect(shown.diff).toMatchObject({ from: h.fixture.baseSha, to: pr.head, truncated: false });
    expect(shown.diff.patch).toContain('+++ b/src/farewell.js');

    const res = await h.http('POST', `${PULLS}/1/merge`, {});
    expect(res.status).toBe(200);
    const { pull, alreadyMerged } = (await res.json()) as { pull: PullRequestRecord; alreadyMerged: boolean };
    expect(alreadyMerged).toBe(false);
    expect(pull).toMatchObject({ number: 1, state: 'merged' });

    const main = git(h.fixture.bare, 'rev-parse', 'refs/heads/main');
    expect(pull.mergeSha).toBe(main);
    expect(git(h.fixture.bare, 'log', '-1', '--format=%P', 'main').split(' ')).toEqual([h.fixture.baseSha, pr.head]);
    expect(git(h.fixture.bare, 'log', '-1', '--format=%s|%an <%ae>|%cn <%ce>', 'main')).toBe(
      'Merge PR #1: FR-001: Change for FR-001|Agency <agency@localhost>|Agency <agency@localhost>',
    );
    expect(git(h.fixture.bare, 'show', 'main:src/farewell.js')).toContain('Goodbye');
    expect(h.fixture.hookRan()).toBe(false);

    const record = h.record(1);
    expect(record).toMatchObject({ state: 'merged', mergeSha: main });
    expect(record.mergedAt).not.toBeNull();

    const merged = await h.events<PrMergedEvent>(Messages.PrMerged.type, pr.sagaId);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({
      frId: 'FR-001',
      sagaId: pr.sagaId,
      jobId: `job-${pr.sagaId}`,
      step: 'merge',
      payload: { number: 1, url: 'local://example/greeter/pulls/1', mergeSha: main },
    });

    // Merging again changes nothing and answers with the same merge.
    const again = await h.http('POST', `${PULLS}/1/merge`);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ alreadyMerged: true, pull: { mergeSha: main } });
    expect(git(h.fixture.bare, 'rev-parse', 'refs/heads/main')).toBe(main);

    // A merged PR's diff is the merge's own change.
    const after = (await (await h.http('GET', `${PULLS}/1`)).json()) as PullRequestRecord & { diff: PrDiff };
    expect(after.diff).toMatchObject({ from: h.fixture.baseSha, to: main });
    expect(after.diff.patch).toContain('src/farewell.js');
  });

  it('closes over HTTP, tells the saga, and then refuses to merge the closed PR', async () => {
    const pr = await openPr('FR-002', 'abandoned', { 'src/abandoned.js': 'export const x = 1;\n' });
    const closed = await h.http('POST', `${PULLS}/${pr.number}/close`);
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({ alreadyClosed: false, pull: { number: pr.number, state: 'closed' } });
    const events = await h.events<PrClosedEvent>(Messages.PrClosed.type, pr.sagaId);
    expect(events.map((e) => e.payload)).toEqual([{ number: pr.number, url: `local://example/greeter/pulls/${pr.number}` }]);

    const main = git(h.fixture.bare, 'rev-parse', 'refs/heads/main');
    const refused = await h.http('POST', `${PULLS}/${pr.number}/merge`);
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as ErrorBody;
    expect(body).toMatchObject({ statusCode: 409, error: 'PR_CLOSED' });
    expect(body.message).toContain(`PR #${pr.number} of example/greeter is closed`);
    expect(git(h.fixture.bare, 'rev-parse', 'refs/heads/main')).toBe(main);

    const closeMerged = await h.http('POST', `${PULLS}/1/close`);
    expect(closeMerged.status).toBe(409);
    expect(await closeMerged.json()).toMatchObject({ error: 'PR_MERGED' });
  });

  it('answers 404 for an unknown PR and 400 for a bad number or method, as JSON', async () => {
    const missing = await h.http('GET', `${PULLS}/99`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ statusCode: 404, error: 'PR_NOT_FOUND', message: 'PR #99 does not exist in example/greeter' });
    expect((await h.http('POST', `${PULLS}/99/merge`)).status).toBe(404);
    expect((await h.http('GET', `${PULLS}/abc`)).status).toBe(400);
    expect((await h.http('POST', `${PULLS}/1/merge`, { method: 'octopus' })).status).toBe(400);
    for (const path of ['/forge/local/repos/nobody/nothing/pulls', '/forge/local/repos/nobody/nothing/pulls/1']) {
      const unknownRepo = await h.http('GET', path);
      expect(unknownRepo.status).toBe(404);
      expect(await unknownRepo.json()).toMatchObject({ error: 'FORGE_REPO_MISSING' });
    }
    expect((await h.http('GET', '/forge/local/repos/..%2F..%2Fetc/passwd/pulls')).status).toBe(400);
  });

  it('merges through the bus command, re-announces a repeated merge, and reports a closed PR as a failed step', async () => {
    const pr = await openPr('FR-003', 'second-change', { 'src/second.js': 'export const second = 2;\n' });
    const before = git(h.fixture.bare, 'rev-parse', 'refs/heads/main');
    await h.deliver(Messages.MergePr, h.mergeCommand({ frId: 'FR-003', sagaId: pr.sagaId, number: pr.number }));
    const [merged] = await h.events<PrMergedEvent>(Messages.PrMerged.type, pr.sagaId);
    const main = git(h.fixture.bare, 'rev-parse', 'refs/heads/main');
    expect(merged!.payload).toEqual({ number: pr.number, url: `local://example/greeter/pulls/${pr.number}`, mergeSha: main });
    expect(git(h.fixture.bare, 'log', '-1', '--format=%P', 'main').split(' ')).toEqual([before, pr.head]);
    expect(git(h.fixture.bare, 'show', 'main:src/second.js')).toContain('second');
    expect(git(h.fixture.bare, 'show', 'main:src/farewell.js')).toContain('Goodbye');

    // A re-driven merge (attempt 2) finds it merged and says so again with the same sha.
    await h.deliver(Messages.MergePr, h.mergeCommand({ frId: 'FR-003', sagaId: pr.sagaId, number: pr.number, attempt: 2 }));
    const all = await h.events<PrMergedEvent>(Messages.PrMerged.type, pr.sagaId);
    expect(all.map((e) => [e.attempt, e.payload.mergeSha])).toEqual([
      [1, main],
      [2, main],
    ]);
    expect(git(h.fixture.bare, 'rev-parse', 'refs/heads/main')).toBe(main);

    await h.deliver(Messages.MergePr, h.mergeCommand({ frId: 'FR-002', sagaId: 'saga-fr-002', number: 2 }));
    const [failed] = await h.events<StepFailedEvent>(Messages.GitStepFailed.type, 'saga-fr-002');
    expect(failed!.payload).toMatchObject({ code: 'PR_CLOSED', retryable: false });
  });

  it('reports a merge conflict as a failed step and leaves the base alone', async () => {
    const pr = await openPr('FR-004', 'conflicting', { 'src/farewell.js': 'export const farewell = () => "Bye";\n' });
    const main = git(h.fixture.bare, 'rev-parse', 'refs/heads/main');
    await h.deliver(Messages.MergePr, h.mergeCommand({ frId: 'FR-004', sagaId: pr.sagaId, number: pr.number }));
    const [failed] = await h.events<StepFailedEvent>(Messages.GitStepFailed.type, pr.sagaId);
    expect(failed!.payload).toMatchObject({ code: 'MERGE_CONFLICT', retryable: false });
    expect(failed!.payload.reason).toContain('conflicts in src/farewell.js');
    expect(git(h.fixture.bare, 'rev-parse', 'refs/heads/main')).toBe(main);
    expect(h.record(pr.number).state).toBe('open');
    // The temporary worktree is gone again.
    expect(
      git(join(h.fixture.workDir, 'mirrors', 'example', 'greeter.git'), 'worktree', 'list', '--porcelain')
        .split('\n')
        .filter((l) => l.startsWith('worktree ')),
    ).toHaveLength(1);
  });

  it('takes a person’s review over HTTP and tells the saga, each review once', async () => {
    const pr = await openPr('FR-005', 'reviewed', { 'src/five.js': 'export const five = 5;\n' });
    const post = (body: unknown) => h.http('POST', `${PULLS}/${pr.number}/reviews`, body);
    expect((await post({ state: 'changes_requested', author: 'ada', body: 'Handle an empty name.' })).status).toBe(202);
    expect((await post({ state: 'changes_requested', author: 'ada', body: 'Handle an empty name.' })).status).toBe(202);
    expect((await post({ state: 'approved', author: 'grace' })).status).toBe(202);
    const reviewed = await h.events<PrReviewedEvent>(Messages.PrReviewed.type, pr.sagaId);
    expect(reviewed.map((e) => e.payload)).toEqual([
      { number: pr.number, state: 'changes_requested', author: 'ada', body: 'Handle an empty name.' },
      { number: pr.number, state: 'changes_requested', author: 'ada', body: 'Handle an empty name.' },
      { number: pr.number, state: 'approved', author: 'grace', body: '' },
    ]);
    expect(reviewed[0]).toMatchObject({ frId: 'FR-005', step: 'merge', attempt: 1 });

    const bad = await post({ state: 'lgtm', author: '' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe(
      'state must be one of approved, changes_requested, commented, got "lgtm"; author must be a name of 1 to 200 characters',
    );
    expect((await h.http('POST', `${PULLS}/99/reviews`, { state: 'approved', author: 'ada' })).status).toBe(404);
  });

  it('refuses the saga’s merge of a draft PR, but lets a person merge it over HTTP', async () => {
    const branch = 'agency/FR-006-draft';
    const clone = new AgentClone(h.fixture, 'agent-FR-006', branch);
    const head = clone.commit({ 'src/six.js': 'export const six = 6;\n' }, 'Six');
    const bundle = await h.putBundle('FR-006/saga-fr-006/code-r1.bundle', clone.bundle(h.fixture.baseSha));
    await h.deliver(Messages.OpenPr, h.openPrCommand({ frId: 'FR-006', title: 'Draft', sagaId: 'saga-fr-006', branch, headSha: head, bundle, draft: true }));
    const [opened] = await h.events<PrOpenedEvent>(Messages.PrOpened.type, 'saga-fr-006');
    const number = opened!.payload.number;
    await h.deliver(Messages.MergePr, h.mergeCommand({ frId: 'FR-006', sagaId: 'saga-fr-006', number }));
    const [failed] = await h.events<StepFailedEvent>(Messages.GitStepFailed.type, 'saga-fr-006');
    expect(failed!.payload).toMatchObject({ code: 'PR_DRAFT', retryable: false });
    expect(h.record(number).state).toBe('open');
    const res = await h.http('POST', `${PULLS}/${number}/merge`, {});
    expect(res.status).toBe(200);
    expect(h.record(number).state).toBe('merged');
  });
});
