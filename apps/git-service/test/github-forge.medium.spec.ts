import { BusConnection, Clock } from '@agency/messaging';
import { startNatsServer, type NatsServerHandle } from '@agency/testing';
import { ForgeError } from '../src/forge/forge.errors.js';
import { repoRef, type ForgeRepoRef } from '../src/forge/repo-ref.js';
import { GitServiceConfig } from '../src/git-service.config.js';
import { GitClient } from '../src/git/git.client.js';
import { MirrorService } from '../src/git/mirror.service.js';
import { TokenGitClient } from '../src/git/token-git.client.js';
import { GitHubApiClient } from '../src/github/github-api.client.js';
import { GitHubForge } from '../src/github/github-forge.service.js';
import { PrOriginStore } from '../src/pr/pr-origin.store.js';
import { ForgeConfigRepository } from '../src/vault/forge-config.repository.js';
import { silentLogger } from './support/fakes.js';
import { createGitHubFixture, GH_REPO, GH_TOKEN, GitHubAgentClone, type GitHubFixture } from './support/github-fixture.js';

/** Real time, but rate-limit waits are recorded instead of slept. */
class RecordingClock extends Clock {
  readonly sleeps: number[] = [];
  override async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
  }
}

const BRANCH = 'agency/FR-001-add-a-farewell';
const origin = { frId: 'FR-001', sagaId: 'saga-gh-1', jobId: 'job-gh-1' };

describe('GitHubForge against a fake GitHub validating every request against GitHub’s OpenAPI description', () => {
  let fx: GitHubFixture;
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let config: GitServiceConfig;
  let clock: RecordingClock;
  let api: GitHubApiClient;
  let mirrors: MirrorService;
  let forge: GitHubForge;
  let repo: ForgeRepoRef;
  let clone: GitHubAgentClone;
  let head1: string;

  const newPr = (draft: boolean, labels: string[]) => ({
    title: 'FR-001: Add a farewell',
    body: 'Round 1 <!-- agency: fr=FR-001 saga=saga-gh-1 job=job-gh-1 content=abc -->',
    draft,
    labels,
    headSha: head1,
    branch: BRANCH,
    base: 'main',
    ...origin,
  });

  beforeAll(async () => {
    fx = await createGitHubFixture();
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'github-forge-test' });
    config = Object.assign(new GitServiceConfig(), { VAULT_PATH: fx.vaultPath, WORK_DIR: fx.workDir, GITHUB_TOKEN: GH_TOKEN, GIT_TIMEOUT_MS: 60_000 });
    clock = new RecordingClock();
    const forgeConfig = new ForgeConfigRepository(config);
    api = new GitHubApiClient(config, forgeConfig, clock, silentLogger());
    mirrors = new MirrorService(new GitClient(config), new TokenGitClient(config, new GitClient(config)), config, silentLogger());
    forge = new GitHubForge(api, mirrors, new PrOriginStore(bus), clock, config);
    repo = forgeConfig.githubRepo(GH_REPO)!;
    clone = new GitHubAgentClone(fx, 'agent', BRANCH);
    head1 = clone.commit({ 'src/farewell.js': 'export const farewell = (n) => `Goodbye, ${n}!`;\n' }, 'Add farewell()');
  });

  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
    await fx?.stop();
  });

  // Every test ends with no request GitHub's description would refuse and no answer GitHub would not give.
  afterEach(() => {
    const found = fx.github.violations.splice(0);
    expect(found).toEqual([]);
  });

  it('has a fake that notices requests GitHub’s description does not allow', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${fx.github.apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `token ${GH_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/repos/octo/greeter/pulls?draft=1', { title: 'x', head: BRANCH, base: 'main', draft: 'yes' })).status).toBe(422);
    expect((await post('/repos/octo/greeter/pull', {})).status).toBe(404);
    expect(fx.github.violations).toEqual([
      'POST /api/v3/repos/octo/greeter/pulls (pulls/create): query parameter "draft" is not a parameter of pulls/create',
      'POST /api/v3/repos/octo/greeter/pulls (pulls/create): body/draft must be boolean',
      "POST /api/v3/repos/octo/greeter/pull: no operation of GitHub's REST API has this method and path",
    ]);
    fx.github.violations.length = 0;
  });

  it('pushes the agency branch over HTTPS with the token as a header, once, and writes the token nowhere', async () => {
    expect(repo).toMatchObject({ name: GH_REPO, owner: 'octo', repo: 'greeter', forge: 'github', cloneUrl: fx.github.gitUrl(GH_REPO) });
    await mirrors.importBundle(repo, clone.bundle(), BRANCH, head1);
    expect(await forge.ensureBranchPushed(repo, BRANCH, head1)).toEqual({ pushed: true });
    expect(fx.github.sha(GH_REPO, BRANCH)).toBe(head1);
    expect(await forge.ensureBranchPushed(repo, BRANCH, head1)).toEqual({ pushed: false });
    expect(fx.github.pushes).toEqual([GH_REPO]);
    // Every git request carried the header (the fake answers 401 otherwise); none had the token in its URL.
    expect(fx.github.requests.filter((r) => r.url.includes('.git/')).every((r) => r.status === 200)).toBe(true);
    expect(fx.github.requests.some((r) => r.url.includes(GH_TOKEN))).toBe(false);
    expect(fx.filesContaining(GH_TOKEN)).toEqual([]);
  });

  it('refuses to push without a token, naming GITHUB_TOKEN', async () => {
    const bare = new GitHubForge(api, mirrors, new PrOriginStore(bus), clock, Object.assign(new GitServiceConfig(), { ...config, GITHUB_TOKEN: undefined }));
    await expect(bare.ensureBranchPushed(repo, BRANCH, head1)).rejects.toMatchObject({ code: 'GITHUB_TOKEN_MISSING', kind: 'invalid' });
  });

  it('opens a draft PR with labels, finds it again with its FR run, updates it, marks it ready and comments', async () => {
    const opened = await forge.openPr(repo, newPr(true, ['agency', 'tier:small', 'agency:in-progress']));
    expect(opened).toMatchObject({
      number: 1,
      url: `${fx.github.web}/${GH_REPO}/pull/1`,
      branch: BRANCH,
      base: 'main',
      headSha: head1,
      state: 'open',
      draft: true,
      labels: ['agency', 'tier:small', 'agency:in-progress'],
      ...origin,
    });
    expect(opened.pushes).toEqual([{ headSha: head1, at: expect.any(String) }]);
    expect(fx.github.pulls[0]).toMatchObject({ draft: true, head: BRANCH, labels: ['agency', 'tier:small', 'agency:in-progress'] });

    const found = await forge.findOpenPr(repo, BRANCH);
    expect(found).toMatchObject({ number: 1, draft: true, ...origin });
    expect(await forge.findOpenPr(repo, 'agency/FR-001-other')).toBeUndefined();

    fx.github.pulls[0]!.labels.push('needs-docs'); // a human's label stays
    const updated = await forge.updatePr(repo, 1, {
      title: 'FR-001: Add a farewell',
      body: 'Round 2',
      draft: false,
      labels: ['agency', 'tier:small'],
      headSha: head1,
      origin,
    });
    expect(updated).toMatchObject({ number: 1, draft: false, body: 'Round 2', labels: ['needs-docs', 'agency', 'tier:small'] });
    expect(fx.github.pulls[0]).toMatchObject({ draft: false, body: 'Round 2', labels: ['needs-docs', 'agency', 'tier:small'] });
    expect(fx.github.graphqlCalls.map((c) => c.query.match(/markPullRequestReadyForReview|convertPullRequestToDraft/)?.[0])).toEqual([
      'markPullRequestReadyForReview',
    ]);

    // The same content again changes nothing on GitHub.
    const before = fx.github.requests.length;
    await forge.updatePr(repo, 1, { title: 'FR-001: Add a farewell', body: 'Round 2', draft: false, labels: ['agency', 'tier:small'], headSha: head1, origin });
    expect(fx.github.requests.slice(before).map((r) => r.operationId)).toEqual(['pulls/get']);

    await forge.comment(repo, 1, 'Agency pushed new commits.');
    expect(fx.github.pulls[0]!.comments.map((c) => c.body)).toEqual(['Agency pushed new commits.']);
  });

  it('updates the existing PR when GitHub answers 422 "A pull request already exists"', async () => {
    const before = fx.github.requests.length;
    const again = await forge.openPr(repo, newPr(false, ['agency']));
    expect(again).toMatchObject({ number: 1, state: 'open' });
    expect(fx.github.pulls).toHaveLength(1);
    const calls = fx.github.requests.slice(before);
    expect(calls[0]).toMatchObject({ operationId: 'pulls/create', status: 422 });
    expect(calls.map((r) => r.operationId)).toContain('pulls/list');

    // GitHub's listing lags behind: the command is handed back rather than opening a second PR.
    fx.github.hiddenFromNextList.add(1);
    await expect(forge.openPr(repo, newPr(false, ['agency']))).rejects.toMatchObject({ code: 'PR_EXISTS_NOT_LISTED', kind: 'unavailable' });
    expect(fx.github.pulls).toHaveLength(1);
  });

  it('waits out rate limits (429, primary and secondary 403) and hands back a wait that is too long', async () => {
    clock.sleeps.length = 0;
    fx.github.limitNext('too-many', 1, 2);
    fx.github.limitNext('secondary', 1, 1);
    fx.github.limitNext('primary', 1, 5);
    const pr = await forge.get(repo, 1);
    expect(pr?.number).toBe(1);
    expect(clock.sleeps).toHaveLength(3);
    expect(clock.sleeps.slice(0, 2)).toEqual([2000, 1000]);
    expect(clock.sleeps[2]).toBeGreaterThan(3000);
    expect(clock.sleeps[2]).toBeLessThanOrEqual(7000);

    clock.sleeps.length = 0;
    fx.github.limitNext('too-many', 1, 3600);
    await expect(forge.get(repo, 1)).rejects.toMatchObject({
      code: 'GITHUB_RATE_LIMITED',
      kind: 'unavailable',
      message: expect.stringContaining('resets in 3600 s'),
    });
    expect(clock.sleeps).toEqual([]);
  });

  it('refuses to merge a draft, failing checks or unfinished checks; then merges at the head it saw, once', async () => {
    const pull = fx.github.pulls[0]!;
    pull.draft = true;
    await expect(forge.merge(repo, 1, 'merge', { allowDraft: false })).rejects.toMatchObject({ code: 'PR_DRAFT', kind: 'conflict' });
    pull.draft = false;
    fx.github.checks.set(head1, {
      statuses: [{ context: 'ci/lint', state: 'failure' }],
      runs: [{ name: 'build', status: 'completed', conclusion: 'success' }],
    });
    await expect(forge.merge(repo, 1, 'merge', { allowDraft: false })).rejects.toMatchObject({
      code: 'CHECKS_FAILING',
      kind: 'conflict',
      message: expect.stringContaining('ci/lint'),
    });
    fx.github.checks.set(head1, { statuses: [{ context: 'ci/lint', state: 'success' }], runs: [{ name: 'build', status: 'in_progress', conclusion: null }] });
    await expect(forge.merge(repo, 1, 'merge', { allowDraft: false })).rejects.toMatchObject({ code: 'CHECKS_PENDING', kind: 'unavailable' });
    expect(fx.github.requests.some((r) => r.operationId === 'pulls/merge')).toBe(false);

    fx.github.checks.set(head1, {
      statuses: [{ context: 'ci/lint', state: 'success' }],
      runs: [{ name: 'build', status: 'completed', conclusion: 'success' }],
    });
    const { pr, alreadyMerged } = await forge.merge(repo, 1, 'merge', { allowDraft: false });
    const main = fx.github.sha(GH_REPO, 'main');
    expect(alreadyMerged).toBe(false);
    expect(pr).toMatchObject({ number: 1, state: 'merged', mergeSha: main, ...origin });
    expect(main).not.toBe(fx.baseSha);
    const again = await forge.merge(repo, 1, 'merge', { allowDraft: false });
    expect(again).toMatchObject({ alreadyMerged: true, pr: { mergeSha: main } });
    expect(fx.github.requests.filter((r) => r.operationId === 'pulls/merge')).toHaveLength(1);
    await expect(forge.close(repo, 1)).rejects.toMatchObject({ code: 'PR_MERGED' });
    await expect(forge.updatePr(repo, 1, { title: 't', body: 'b', draft: false, labels: [], headSha: head1 })).rejects.toMatchObject({ code: 'PR_NOT_OPEN' });
  });

  it('closes, lists, reads the diff of a second PR, and reports an unknown one as missing', async () => {
    const branch = 'agency/FR-002-notes';
    const c2 = new GitHubAgentClone(fx, 'agent-2', branch);
    const head = c2.commit({ 'docs/notes.md': '# Notes\n' }, 'Notes');
    await mirrors.importBundle(repo, c2.bundle(), branch, head);
    await forge.ensureBranchPushed(repo, branch, head);
    const pr = await forge.openPr(repo, { ...newPr(false, []), branch, headSha: head, frId: 'FR-002', sagaId: 'saga-gh-2' });
    expect(pr.number).toBe(2);
    expect((await forge.diff(repo, pr)).patch).toContain('+++ b/docs/notes.md');
    expect((await forge.list(repo)).map((p) => [p.number, p.state])).toEqual([
      [2, 'open'],
      [1, 'merged'],
    ]);
    expect(await forge.close(repo, 2)).toMatchObject({ alreadyClosed: false, pr: { state: 'closed', frId: 'FR-002', sagaId: 'saga-gh-2' } });
    expect((await forge.close(repo, 2)).alreadyClosed).toBe(true);
    // The stopped run's branch goes too (git/delete-ref with the ref's slashes encoded, as Octokit sends it); a second delete finds nothing.
    expect(await forge.deleteBranch(repo, branch)).toBe(true);
    expect(fx.github.sha(GH_REPO, branch)).toBe('');
    expect(await forge.deleteBranch(repo, branch)).toBe(false);
    expect(fx.github.requests.filter((r) => r.operationId === 'git/delete-ref').map((r) => [r.method, r.url, r.status])).toEqual([
      ['DELETE', `/api/v3/repos/${GH_REPO}/git/refs/heads%2F${encodeURIComponent(branch)}`, 204],
      ['DELETE', `/api/v3/repos/${GH_REPO}/git/refs/heads%2F${encodeURIComponent(branch)}`, 422],
    ]);
    expect(await forge.get(repo, 99)).toBeUndefined();
    await expect(forge.merge(repo, 99, 'merge', { allowDraft: false })).rejects.toMatchObject({ code: 'PR_NOT_FOUND', kind: 'not-found' });
  });

  it('names a refused token without repeating it', async () => {
    const wrong = `ghp_${'W'.repeat(36)}`;
    const badConfig = Object.assign(new GitServiceConfig(), { ...config, GITHUB_TOKEN: wrong });
    const badApi = new GitHubApiClient(badConfig, new ForgeConfigRepository(badConfig), clock, silentLogger());
    const e = (await badApi.getPull(repo, 1).catch((x: unknown) => x)) as ForgeError;
    expect(e).toBeInstanceOf(ForgeError);
    expect(e).toMatchObject({ code: 'GITHUB_UNAUTHORIZED', kind: 'invalid' });
    expect(e.message).toContain('Bad credentials');
    expect(e.message).toContain('GITHUB_TOKEN');
    expect(e.message).not.toContain(wrong);

    // git with a wrong token: the push is refused and the error names neither token.
    const badMirrors = new MirrorService(new GitClient(badConfig), new TokenGitClient(badConfig, new GitClient(badConfig)), badConfig, silentLogger());
    const pushError = (await badMirrors
      .pushBranch(repoRef({ ...repo, name: repo.name }), repo.cloneUrl, 'agency/FR-003-x', head1)
      .catch((x: unknown) => x)) as Error;
    expect(pushError.message).not.toContain(wrong);
    expect(pushError.message).not.toContain(GH_TOKEN);
  });
});
