import type { ArtifactRefDto, OpenPrCommand } from '@agency/contracts';
import { samplePayloads } from '@agency/contracts/testing';
import { FakeMirrors, FixedClock, MemoryFiles, silentLogger } from '../../test/support/fakes.js';
import { invalid } from '../forge/forge.errors.js';
import type { Forge } from '../forge/forge.js';
import { ForgeRegistry } from '../forge/forge.registry.js';
import { LocalForge } from '../forge/local-forge.service.js';
import { PrRecordStore } from '../forge/pr-record.store.js';
import type { GitServiceConfig } from '../git-service.config.js';
import { RepoLocks } from '../git/repo-locks.js';
import { PullRequestService } from './pull-request.service.js';

const BARE = '/forge/example/greeter.git';
const H1 = '1'.repeat(40);
const H2 = '2'.repeat(40);

function command(headSha = H1, patch: Partial<OpenPrCommand> = {}): OpenPrCommand {
  const cmd = structuredClone(samplePayloads.OpenPr);
  cmd.repo = { ...cmd.repo, name: 'example/greeter', cloneUrl: BARE };
  cmd.workspace = { ...cmd.workspace, branch: 'agency/FR-1-add-a-greeting', headSha };
  return { ...cmd, ...patch };
}

describe('PullRequestService', () => {
  let files: MemoryFiles;
  let mirrors: FakeMirrors;
  let fetched: ArtifactRefDto[];
  let service: PullRequestService;
  const origin = { frId: 'FR-1', sagaId: 'saga-1', jobId: 'job-1' };

  beforeEach(() => {
    files = new MemoryFiles();
    files.dirs.add(`${BARE}/HEAD`);
    mirrors = new FakeMirrors();
    fetched = [];
    const forge = new LocalForge({ localRoot: () => '/forge' }, mirrors, new PrRecordStore(files), files, new FixedClock(), {
      DIFF_MAX_BYTES: 1000,
    } as GitServiceConfig);
    const artifacts = { get: async (ref: ArtifactRefDto) => (fetched.push(ref), new Uint8Array([1, 2, 3])) };
    // GitHub is covered against a fake GitHub server (test/github-*.medium.spec.ts); here it only has to be chosen.
    const github = new Proxy({ kind: 'github' } as Forge, {
      get: (target, key) => (key === 'kind' ? target.kind : async () => Promise.reject(invalid('GITHUB_TOKEN_MISSING', `github forge: ${String(key)}`))),
    });
    service = new PullRequestService(new ForgeRegistry(forge, github), mirrors, artifacts, new RepoLocks(), silentLogger());
  });

  it('imports the bundle, pushes the head and opens a PR with the rendered description', async () => {
    const opened = await service.openOrUpdate(command(), origin);
    expect(opened).toEqual({
      number: 1,
      url: 'local://example/greeter/pulls/1',
      branch: 'agency/FR-1-add-a-greeting',
      headSha: H1,
      draft: false,
      created: true,
    });
    expect(fetched.map((r) => r.key)).toEqual([samplePayloads.OpenPr.workspace.bundle.key]);
    expect(mirrors.calls).toEqual([`import example/greeter agency/FR-1-add-a-greeting ${H1} (3 bytes)`, `push ${BARE} agency/FR-1-add-a-greeting ${H1}`]);
    const record = JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!);
    expect(record).toMatchObject({ title: 'FR-1: Add a greeting', base: 'main', labels: ['agency'], frId: 'FR-1', sagaId: 'saga-1', jobId: 'job-1' });
    expect(record.body).toContain('- [ ] greet("Ada") returns "Hello, Ada!"');
  });

  it('updates the open PR of the branch instead of opening a second one', async () => {
    await service.openOrUpdate(command(), origin);
    mirrors.pushResult = { pushed: false };
    const again = await service.openOrUpdate(command(), origin);
    expect(again).toMatchObject({ number: 1, created: false, headSha: H1 });
    const next = await service.openOrUpdate(command(H2, { draft: true, labels: ['agency', 'agency:needs-human'] }), origin);
    expect(next).toEqual({ number: 1, url: 'local://example/greeter/pulls/1', branch: 'agency/FR-1-add-a-greeting', headSha: H2, draft: true, created: false });
    const record = JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!);
    expect(record.pushes.map((p: { headSha: string }) => p.headSha)).toEqual([H1, H2]);
    expect(record.labels).toEqual(['agency', 'agency:needs-human']);
    expect([...files.files.keys()].filter((k) => k.endsWith('.json'))).toHaveLength(1);
  });

  it('comments on the PR when a later round pushes new commits, and only then', async () => {
    await service.openOrUpdate(command(), origin);
    const round2 = command(H2);
    round2.context.reviewRounds = ['round 1: request-changes (confidence 0.80, 1 finding(s), 1 blocking): trim the name'];
    await service.openOrUpdate(round2, origin);
    mirrors.pushResult = { pushed: false };
    await service.openOrUpdate(round2, origin);
    const record = JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!);
    expect(record.comments).toHaveLength(1);
    expect(record.comments[0].body).toContain(`the branch is now at \`${H2}\``);
    expect(record.comments[0].body).toContain('Latest review: round 1: request-changes');
    expect(record.body).toContain('<!-- agency: fr=FR-1 saga=saga-1 job=job-1 content=');
  });

  it('changes nothing for a command that arrives after newer work', async () => {
    await service.openOrUpdate(command(H2), origin);
    // An older round's head, delivered late: the branch is past it.
    mirrors.pushResult = { pushed: false, behind: true };
    expect(await service.openOrUpdate(command(H1, { draft: true }), origin)).toMatchObject({ number: 1, headSha: H2, draft: false, created: false });
    // The round's draft update for the head the PR already shows as ready.
    mirrors.pushResult = { pushed: false };
    expect(await service.openOrUpdate(command(H2, { draft: true }), origin)).toMatchObject({ number: 1, draft: false, created: false });
    const record = JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!);
    expect(record.draft).toBe(false);
    expect(record.pushes).toHaveLength(1);
  });

  it('never opens a second PR for a branch whose PR was merged', async () => {
    await service.openOrUpdate(command(), origin);
    const record = JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!);
    files.files.set('/forge/example/greeter.prs/1.json', JSON.stringify({ ...record, state: 'merged', mergeSha: H2 }));
    mirrors.pushResult = { pushed: false };
    expect(await service.openOrUpdate(command(H1, { draft: true }), origin)).toMatchObject({ number: 1, created: false });
    expect([...files.files.keys()].filter((k) => k.endsWith('.json'))).toHaveLength(1);
  });

  it('opens one PR when the same command runs concurrently', async () => {
    const results = await Promise.all([1, 2, 3].map(() => service.openOrUpdate(command(), origin)));
    expect(results.map((r) => [r.number, r.created])).toEqual([
      [1, true],
      [1, false],
      [1, false],
    ]);
  });

  it('refuses a branch outside agency/ before fetching or pushing anything', async () => {
    const cmd = command();
    cmd.workspace.branch = 'main';
    await expect(service.openOrUpdate(cmd, origin)).rejects.toMatchObject({
      code: 'BRANCH_REFUSED',
      kind: 'invalid',
      message: expect.stringContaining('"main"'),
    });
    expect(fetched).toEqual([]);
    expect(mirrors.calls).toEqual([]);
  });

  it('hands a github repository to the GitHub forge, and refuses a repository name that is no owner/name', async () => {
    await expect(service.openOrUpdate(command(H1, { repo: { ...command().repo, forge: 'github' } }), origin)).rejects.toMatchObject({
      code: 'GITHUB_TOKEN_MISSING',
      message: 'github forge: findOpenPr',
    });
    mirrors.calls.length = 0;
    await expect(service.openOrUpdate(command(H1, { repo: { ...command().repo, name: '../etc' } }), origin)).rejects.toMatchObject({
      code: 'REPO_NAME_INVALID',
    });
    expect(mirrors.calls).toEqual([]);
  });

  it('gets a PR with its diff, and names an unknown one', async () => {
    await service.openOrUpdate(command(), origin);
    const repo = { name: 'example/greeter', owner: 'example', repo: 'greeter', cloneUrl: BARE, base: 'main', forge: 'local' as const };
    expect(await service.getWithDiff(repo, 1)).toMatchObject({ number: 1, diff: { to: H1 } });
    await expect(service.get(repo, 2)).rejects.toMatchObject({ code: 'PR_NOT_FOUND', message: 'PR #2 does not exist in example/greeter' });
  });

  it("opens a PR of its own for a fresh run of the FR although an earlier run's PR of the branch was closed", async () => {
    await service.openOrUpdate(command(), origin);
    await service.closeForFr({ repo: command().repo, number: 1, reason: 'cancelled by ada', deleteBranch: true }, 'FR-1');
    // The same run's command after its PR was closed changes nothing...
    mirrors.pushResult = { pushed: false };
    expect(await service.openOrUpdate(command(H2), origin)).toMatchObject({ number: 1, created: false });
    // ...but the next run opens PR #2.
    mirrors.pushResult = { pushed: true };
    expect(await service.openOrUpdate(command(H2), { ...origin, sagaId: 'saga-2', jobId: 'job-2' })).toMatchObject({ number: 2, created: true, headSha: H2 });
  });

  it("closes a run's PR with a comment saying why and deletes its branch; a second close changes nothing", async () => {
    await service.openOrUpdate(command(), origin);
    mirrors.branches.add('agency/FR-1-add-a-greeting');
    const cmd = { repo: command().repo, number: 1, reason: 'PR rejected by ada: not needed', deleteBranch: true };
    expect(await service.closeForFr(cmd, 'FR-1')).toMatchObject({
      closed: true,
      branchDeleted: true,
      pr: { number: 1, state: 'closed', branch: 'agency/FR-1-add-a-greeting' },
    });
    const record = JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!);
    expect(record).toMatchObject({ state: 'closed', comments: [{ body: 'Agency closed this PR: PR rejected by ada: not needed' }] });
    expect(await service.closeForFr(cmd, 'FR-1')).toMatchObject({ closed: false, branchDeleted: false });
    expect(JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!).comments).toHaveLength(1);
    expect(mirrors.calls.filter((c) => c.startsWith('delete'))).toEqual([
      `delete ${BARE} agency/FR-1-add-a-greeting`,
      `delete ${BARE} agency/FR-1-add-a-greeting`,
    ]);
  });

  it('keeps the branch when asked, and refuses to close a merged PR or a PR of another FR', async () => {
    await service.openOrUpdate(command(), origin);
    mirrors.branches.add('agency/FR-1-add-a-greeting');
    expect(await service.closeForFr({ repo: command().repo, number: 1, reason: 'failed', deleteBranch: false }, 'FR-1')).toMatchObject({
      closed: true,
      branchDeleted: false,
    });
    expect(mirrors.branches.has('agency/FR-1-add-a-greeting')).toBe(true);
    await expect(service.closeForFr({ repo: command().repo, number: 1, reason: 'x', deleteBranch: true }, 'FR-2')).rejects.toMatchObject({
      code: 'PR_OF_ANOTHER_FR',
      kind: 'invalid',
    });
    const record = JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!);
    files.files.set('/forge/example/greeter.prs/1.json', JSON.stringify({ ...record, state: 'merged', mergeSha: H2 }));
    await expect(service.closeForFr({ repo: command().repo, number: 1, reason: 'x', deleteBranch: true }, 'FR-1')).rejects.toMatchObject({
      code: 'PR_MERGED',
      kind: 'conflict',
    });
    await expect(service.closeForFr({ repo: command().repo, number: 9, reason: 'x', deleteBranch: true }, 'FR-1')).rejects.toMatchObject({
      code: 'PR_NOT_FOUND',
    });
  });

  it("ends only the FR's own agency branches: its open PR closed first, the branch deleted unless kept", async () => {
    await service.openOrUpdate(command(), origin);
    mirrors.branches.add('agency/FR-1-add-a-greeting');
    const keep = await service.deleteBranch({ repo: command().repo, branch: 'agency/FR-1-add-a-greeting', reason: 'failed: tests', keepBranch: true }, 'FR-1');
    expect(keep).toMatchObject({ closed: { number: 1, state: 'closed' }, deleted: false });
    expect(JSON.parse(files.files.get('/forge/example/greeter.prs/1.json')!).comments).toEqual([
      expect.objectContaining({ body: 'Agency closed this PR: failed: tests' }),
    ]);
    expect(mirrors.branches.has('agency/FR-1-add-a-greeting')).toBe(true);
    expect(await service.deleteBranch({ repo: command().repo, branch: 'agency/FR-1-add-a-greeting' }, 'FR-1')).toEqual({ deleted: true });
    expect(await service.deleteBranch({ repo: command().repo, branch: 'agency/FR-1-add-a-greeting' }, 'FR-1')).toEqual({ deleted: false });
    await expect(service.deleteBranch({ repo: command().repo, branch: 'main' }, 'FR-1')).rejects.toMatchObject({ code: 'BRANCH_REFUSED' });
    await expect(service.deleteBranch({ repo: command().repo, branch: 'agency/FR-2-other' }, 'FR-1')).rejects.toMatchObject({ code: 'BRANCH_REFUSED' });
  });

  it("pushes nothing for a job whose PR was closed (its branch stays deleted), and opens a new PR for the run's next job", async () => {
    await service.openOrUpdate(command(), origin);
    await service.closeForFr({ repo: command().repo, number: 1, reason: 'cancelled by ada', deleteBranch: true }, 'FR-1');
    mirrors.calls.length = 0;
    // A late draft of the cancelled job: answered from its closed PR, no push.
    expect(await service.openOrUpdate(command(H2, { draft: true }), origin)).toMatchObject({ number: 1, created: false, headSha: H1 });
    expect(mirrors.calls.filter((c) => c.startsWith('push'))).toEqual([]);
    // `agency retry`: the run's next job continues the work and opens a PR of its own.
    expect(await service.openOrUpdate(command(H2), { ...origin, jobId: 'job-1-l2' })).toMatchObject({ number: 2, created: true, headSha: H2 });
    expect(mirrors.calls.filter((c) => c.startsWith('push'))).toEqual([`push ${BARE} agency/FR-1-add-a-greeting ${H2}`]);
  });
});
