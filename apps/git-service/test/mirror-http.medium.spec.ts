import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MirrorHttpServer } from '../src/mirror-http/mirror-http.server.js';
import { git } from './support/forge-fixture.js';
import { createGitHubFixture, GH_REPO, GH_TOKEN, type GitHubFixture } from './support/github-fixture.js';
import { ServiceHarness } from './support/service-harness.js';

const MIRROR_TOKEN = 'mirror-token-for-tests-0123456789abcdef';

/** git as an agent-runner runs it: no global config, a header from the environment (never an argument). Asynchronous: git-service answers in this process. */
function reader(cwd: string, args: string[], header?: string): Promise<{ ok: boolean; out: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: '/nonexistent',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  };
  if (header) Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: header });
  return new Promise((resolve) =>
    execFile('git', args, { cwd, env, encoding: 'utf8' }, (error, stdout, stderr) => resolve({ ok: !error, out: `${stdout}${stderr}` })),
  );
}

describe('git-service serves private repositories read-only to agent-runners (GIT_MIRROR_TOKEN), fetching them from a fake GitHub that demands its token', () => {
  let fx: GitHubFixture;
  let h: ServiceHarness;
  let base: string;

  beforeAll(async () => {
    fx = await createGitHubFixture();
    h = await ServiceHarness.start({
      VAULT_PATH: fx.vaultPath,
      WORK_DIR: fx.workDir,
      GITHUB_TOKEN: GH_TOKEN,
      GIT_MIRROR_TOKEN: MIRROR_TOKEN,
      GIT_MIRROR_PORT: '0',
    });
    base = h.service.app.get(MirrorHttpServer).url!;
  });

  afterAll(async () => {
    await h?.stop();
    await fx?.stop();
  });

  it('the fake GitHub itself refuses a clone without its token (the repository is private)', async () => {
    const r = await reader(fx.dir.path, ['clone', '-q', fx.github.gitUrl(GH_REPO), join(fx.dir.path, 'direct')]);
    expect(r.ok).toBe(false);
  });

  it('clones and fetches through git-service with the service credential, seeing what is on GitHub at each fetch', async () => {
    const dir = join(fx.dir.path, 'runner-mirror.git');
    const url = `${base}/${GH_REPO}.git`;
    const cloned = await reader(fx.dir.path, ['clone', '-q', '--mirror', url, dir], `Authorization: Bearer ${MIRROR_TOKEN}`);
    expect(cloned.out).toBe('');
    expect(cloned.ok).toBe(true);
    expect(git(dir, 'rev-parse', 'refs/heads/main')).toBe(fx.baseSha);

    // Someone pushes to GitHub: the next fetch through git-service brings it (Basic with the token as password works too).
    const seed = join(fx.dir.path, 'seed');
    execFileSync('git', ['clone', '-q', fx.github.bare(GH_REPO), seed]);
    execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@x', 'commit', '-q', '--allow-empty', '-m', 'later'], { cwd: seed });
    execFileSync('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: seed });
    const later = fx.github.sha(GH_REPO, 'main');
    const basic = `Authorization: Basic ${Buffer.from(`agent-runner:${MIRROR_TOKEN}`).toString('base64')}`;
    const fetched = await reader(dir, ['fetch', '-q', 'origin'], basic);
    expect(fetched.ok).toBe(true);
    expect(git(dir, 'rev-parse', 'refs/heads/main')).toBe(later);
  });

  it('refuses a reader without the credential or with the wrong one (the GitHub token is not one), and never takes a push', async () => {
    const url = `${base}/${GH_REPO}.git`;
    for (const header of [
      undefined,
      'Authorization: Bearer not-the-mirror-token',
      `Authorization: Basic ${Buffer.from(`x-access-token:${GH_TOKEN}`).toString('base64')}`,
    ]) {
      const r = await reader(fx.dir.path, ['ls-remote', url], header);
      expect(r.ok).toBe(false);
      expect(r.out).toMatch(/401|Authentication failed|could not read Username/);
    }
    const clone = join(fx.dir.path, 'pusher');
    expect((await reader(fx.dir.path, ['clone', '-q', url, clone], `Authorization: Bearer ${MIRROR_TOKEN}`)).ok).toBe(true);
    execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@x', 'commit', '-q', '--allow-empty', '-m', 'sneaky'], { cwd: clone });
    const pushed = await reader(clone, ['push', 'origin', 'HEAD:refs/heads/sneaky'], `Authorization: Bearer ${MIRROR_TOKEN}`);
    expect(pushed.ok).toBe(false);
    expect(fx.github.sha(GH_REPO, 'sneaky')).toBe('');
  });

  it('answers 404 for repositories agency.yaml does not name and for anything but a fetch', async () => {
    const auth = { authorization: `Bearer ${MIRROR_TOKEN}` };
    expect((await fetch(`${base}/octo/other.git/info/refs?service=git-upload-pack`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/${GH_REPO}.git/info/refs?service=git-receive-pack`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/${GH_REPO}.git/HEAD`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/${GH_REPO}.git/../../etc/passwd`, { headers: auth })).status).toBe(404);
  });

  it('keeps the GitHub token and the service credential out of every file, the served copies included (they live in git-service memory)', () => {
    expect(fx.filesContaining(GH_TOKEN)).toEqual([]);
    expect(fx.filesContaining(Buffer.from(`x-access-token:${GH_TOKEN}`).toString('base64'))).toEqual([]);
    expect(fx.filesContaining(MIRROR_TOKEN)).toEqual([]);
    const config = readFileSync(join(fx.workDir, 'served', 'octo', 'greeter.git', 'config'), 'utf8');
    expect(config).not.toContain('extraHeader');
  });
});
