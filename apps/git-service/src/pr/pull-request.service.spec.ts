import type { ArtifactRefDto, OpenPrCommand } from '@agency/contracts';
import { samplePayloads } from '@agency/contracts/testing';
import { FakeMirrors, FixedClock, MemoryFiles, silentLogger } from '../../test/support/fakes.js';
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
    const forge = new LocalForge({ localRoot: () => '/forge' }, mirrors, new PrRecordStore(files), files, new FixedClock(), { DIFF_MAX_BYTES: 1000 } as GitServiceConfig);
    const artifacts = { get: async (ref: ArtifactRefDto) => (fetched.push(ref), new Uint8Array([1, 2, 3])) };
    service = new PullRequestService(new ForgeRegistry(forge), mirrors, artifacts, new RepoLocks(), silentLogger());
  });

  it('imports the bundle, pushes the head and opens a PR with the rendered description', async () => {
    const opened = await service.openOrUpdate(command(), origin);
    expect(opened).toEqual({ number: 1, url: 'local://example/greeter/pulls/1', branch: 'agency/FR-1-add-a-greeting', headSha: H1, draft: false, created: true });
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

  it('opens one PR when the same command runs concurrently', async () => {
    const results = await Promise.all([1, 2, 3].map(() => service.openOrUpdate(command(), origin)));
    expect(results.map((r) => [r.number, r.created])).toEqual([[1, true], [1, false], [1, false]]);
  });

  it('refuses a branch outside agency/ before fetching or pushing anything', async () => {
    const cmd = command();
    cmd.workspace.branch = 'main';
    await expect(service.openOrUpdate(cmd, origin)).rejects.toMatchObject({ code: 'BRANCH_REFUSED', kind: 'invalid', message: expect.stringContaining('"main"') });
    expect(fetched).toEqual([]);
    expect(mirrors.calls).toEqual([]);
  });

  it('refuses a forge it does not support yet, and a repository name that is no owner/name', async () => {
    await expect(service.openOrUpdate(command(H1, { repo: { ...command().repo, forge: 'github' } }), origin)).rejects.toMatchObject({ code: 'FORGE_UNSUPPORTED' });
    await expect(service.openOrUpdate(command(H1, { repo: { ...command().repo, name: '../etc' } }), origin)).rejects.toMatchObject({ code: 'REPO_NAME_INVALID' });
    expect(mirrors.calls).toEqual([]);
  });

  it('gets a PR with its diff, and names an unknown one', async () => {
    await service.openOrUpdate(command(), origin);
    const repo = { name: 'example/greeter', owner: 'example', repo: 'greeter', cloneUrl: BARE, base: 'main', forge: 'local' as const };
    expect(await service.getWithDiff(repo, 1)).toMatchObject({ number: 1, diff: { to: H1 } });
    await expect(service.get(repo, 2)).rejects.toMatchObject({ code: 'PR_NOT_FOUND', message: 'PR #2 does not exist in example/greeter' });
  });
});
