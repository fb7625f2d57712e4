import { FakeMirrors, FixedClock, MemoryFiles } from '../../test/support/fakes.js';
import type { GitServiceConfig } from '../git-service.config.js';
import type { MergeGuard, NewPullRequest } from './forge.js';
import { LocalForge } from './local-forge.service.js';
import { PrRecordStore } from './pr-record.store.js';
import { repoRef } from './repo-ref.js';

const ROOT = '/forge';
const BARE = '/forge/example/greeter.git';
const repo = repoRef({ name: 'example/greeter', cloneUrl: BARE, base: 'main', forge: 'local' });
const H1 = '1'.repeat(40);
const H2 = '2'.repeat(40);
/** The saga's merge command: drafts refused. */
const AUTO: MergeGuard = { allowDraft: false };

const newPr = (patch: Partial<NewPullRequest> = {}): NewPullRequest => ({
  title: 'FR-1: Greeting',
  body: 'body',
  draft: false,
  labels: ['agency'],
  headSha: H1,
  branch: 'agency/FR-1-greeting',
  base: 'main',
  frId: 'FR-1',
  sagaId: 'saga-1',
  jobId: 'job-1',
  ...patch,
});

describe('LocalForge', () => {
  let files: MemoryFiles;
  let mirrors: FakeMirrors;
  let clock: FixedClock;
  let forge: LocalForge;

  beforeEach(() => {
    files = new MemoryFiles();
    files.dirs.add(`${BARE}/HEAD`);
    mirrors = new FakeMirrors();
    clock = new FixedClock();
    forge = new LocalForge({ localRoot: () => ROOT }, mirrors, new PrRecordStore(files), files, clock, { DIFF_MAX_BYTES: 1000 } as GitServiceConfig);
  });

  it('opens a PR record with a local:// url, the FR ids and the first push', async () => {
    const pr = await forge.openPr(repo, newPr());
    expect(pr).toEqual({
      number: 1,
      url: 'local://example/greeter/pulls/1',
      repo: 'example/greeter',
      title: 'FR-1: Greeting',
      body: 'body',
      branch: 'agency/FR-1-greeting',
      base: 'main',
      headSha: H1,
      state: 'open',
      draft: false,
      labels: ['agency'],
      createdAt: clock.at.toISOString(),
      updatedAt: clock.at.toISOString(),
      mergedAt: null,
      mergeSha: null,
      closedAt: null,
      pushes: [{ headSha: H1, at: clock.at.toISOString() }],
      frId: 'FR-1',
      sagaId: 'saga-1',
      jobId: 'job-1',
    });
    expect(files.files.has('/forge/example/greeter.prs/1.json')).toBe(true);
  });

  it('pushes to the bare repository of the forge, and refuses a repository the forge does not have', async () => {
    await forge.ensureBranchPushed(repo, 'agency/FR-1-greeting', H1);
    expect(mirrors.calls).toEqual([`push ${BARE} agency/FR-1-greeting ${H1}`]);
    const other = repoRef({ name: 'example/missing', cloneUrl: '/x', base: 'main', forge: 'local' });
    await expect(forge.ensureBranchPushed(other, 'agency/FR-1-x', H1)).rejects.toMatchObject({ code: 'FORGE_REPO_MISSING', kind: 'not-found' });
    await expect(forge.list(other)).rejects.toMatchObject({ code: 'FORGE_REPO_MISSING' });
  });

  it('finds only the open PR of a branch', async () => {
    await forge.openPr(repo, newPr());
    await forge.close(repo, 1);
    await forge.openPr(repo, newPr({ branch: 'agency/FR-2-other' }));
    expect(await forge.findOpenPr(repo, 'agency/FR-1-greeting')).toBeUndefined();
    const reopened = await forge.openPr(repo, newPr());
    expect((await forge.findOpenPr(repo, 'agency/FR-1-greeting'))!.number).toBe(reopened.number);
  });

  it('records a push when the head moves, and none for the same head again', async () => {
    await forge.openPr(repo, newPr());
    clock.advance(1000);
    const same = await forge.updatePr(repo, 1, { title: 'FR-1: Greeting', body: 'round 2', draft: true, labels: ['agency', 'x'], headSha: H1 });
    expect(same.pushes).toHaveLength(1);
    expect(same).toMatchObject({ body: 'round 2', draft: true, labels: ['agency', 'x'], updatedAt: clock.at.toISOString() });
    clock.advance(1000);
    const moved = await forge.updatePr(repo, 1, { title: 'FR-1: Greeting', body: 'round 3', draft: false, labels: [], headSha: H2 });
    expect(moved.pushes).toEqual([
      { headSha: H1, at: '2026-11-24T09:00:00.000Z' },
      { headSha: H2, at: '2026-11-24T09:00:02.000Z' },
    ]);
    expect(moved.headSha).toBe(H2);
  });

  it('merges with a merge commit named after the PR, and records it', async () => {
    await forge.openPr(repo, newPr());
    clock.advance(5000);
    const { pr, alreadyMerged } = await forge.merge(repo, 1, 'merge', AUTO);
    expect(alreadyMerged).toBe(false);
    expect(mirrors.calls).toEqual([`merge ${BARE} #1 ${H1} into main: Merge PR #1: FR-1: Greeting`]);
    expect(pr).toMatchObject({ state: 'merged', mergeSha: 'a'.repeat(40), mergedAt: clock.at.toISOString() });
    expect(JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!)).toMatchObject({ state: 'merged' });
  });

  it('answers a second merge with the recorded one, without touching git', async () => {
    await forge.openPr(repo, newPr());
    await forge.merge(repo, 1, 'merge', AUTO);
    mirrors.calls.length = 0;
    const again = await forge.merge(repo, 1, 'merge', AUTO);
    expect(again.alreadyMerged).toBe(true);
    expect(again.pr.mergeSha).toBe('a'.repeat(40));
    expect(mirrors.calls).toEqual([]);
  });

  it('refuses to merge a closed PR, an unknown one, or with another method', async () => {
    await forge.openPr(repo, newPr());
    await expect(forge.merge(repo, 1, 'squash', AUTO)).rejects.toMatchObject({ code: 'MERGE_METHOD_UNSUPPORTED', kind: 'invalid' });
    await forge.close(repo, 1);
    await expect(forge.merge(repo, 1, 'merge', AUTO)).rejects.toMatchObject({ code: 'PR_CLOSED', kind: 'conflict' });
    await expect(forge.merge(repo, 5, 'merge', AUTO)).rejects.toMatchObject({ code: 'PR_NOT_FOUND', kind: 'not-found' });
    expect(mirrors.calls).toEqual([]);
  });

  it('keeps the record open when git fails to merge', async () => {
    await forge.openPr(repo, newPr());
    mirrors.failWith = new Error('conflict');
    await expect(forge.merge(repo, 1, 'merge', AUTO)).rejects.toThrow('conflict');
    expect((await forge.get(repo, 1))!.state).toBe('open');
  });

  it('closes once, refuses to close a merged PR, and refuses to update a PR that is not open', async () => {
    await forge.openPr(repo, newPr());
    const first = await forge.close(repo, 1);
    expect(first).toMatchObject({ alreadyClosed: false, pr: { state: 'closed', closedAt: clock.at.toISOString() } });
    expect((await forge.close(repo, 1)).alreadyClosed).toBe(true);
    await expect(forge.updatePr(repo, 1, { title: 't', body: 'b', draft: false, labels: [], headSha: H2 })).rejects.toMatchObject({ code: 'PR_NOT_OPEN' });
    await forge.openPr(repo, newPr({ branch: 'agency/FR-1-second' }));
    await forge.merge(repo, 2, 'merge', AUTO);
    await expect(forge.close(repo, 2)).rejects.toMatchObject({ code: 'PR_MERGED', kind: 'conflict' });
  });

  it('refuses the saga a draft PR but lets a person merge it', async () => {
    await forge.openPr(repo, newPr({ draft: true }));
    await expect(forge.merge(repo, 1, 'merge', AUTO)).rejects.toMatchObject({ code: 'PR_DRAFT', kind: 'conflict', message: expect.stringContaining('draft') });
    expect(mirrors.calls).toEqual([]);
    expect((await forge.merge(repo, 1, 'merge', { allowDraft: true })).pr.state).toBe('merged');
  });

  it('keeps comments, and hands an open PR to the run that updates it', async () => {
    await forge.openPr(repo, newPr());
    await forge.comment(repo, 1, 'Round 2 pushed');
    const updated = await forge.updatePr(repo, 1, { title: 't', body: 'b', draft: false, labels: [], headSha: H1, origin: { frId: 'FR-1', sagaId: 'saga-2' } });
    expect(updated).toMatchObject({ sagaId: 'saga-2', jobId: null, comments: [{ body: 'Round 2 pushed', at: clock.at.toISOString() }] });
  });
});
