import { generateKeyPairSync } from 'node:crypto';
import { BusConnection, Clock } from '@agency/messaging';
import { startNatsServer, type NatsServerHandle } from '@agency/testing';
import type { ForgeRepoRef } from '../src/forge/repo-ref.js';
import { GitServiceConfig } from '../src/git-service.config.js';
import { GitClient } from '../src/git/git.client.js';
import { MirrorService } from '../src/git/mirror.service.js';
import { TokenGitClient } from '../src/git/token-git.client.js';
import { GitHubApiClient } from '../src/github/github-api.client.js';
import { GitHubCredentials } from '../src/github/github-credentials.js';
import { GitHubForge } from '../src/github/github-forge.service.js';
import { PrOriginStore } from '../src/pr/pr-origin.store.js';
import { ForgeConfigRepository } from '../src/vault/forge-config.repository.js';
import { silentLogger } from './support/fakes.js';
import { createGitHubFixture, GH_REPO, GitHubAgentClone, type GitHubFixture } from './support/github-fixture.js';

/** The machine's clock moved forward by `shiftMs`, as the fake GitHub's is (token lifetimes). */
class ShiftedClock extends Clock {
  shiftMs = 0;
  override nowMs(): number {
    return super.nowMs() + this.shiftMs;
  }
}

const APP_ID = '424242';
const INSTALLATION = 77;
const BRANCH = 'agency/FR-002-app-auth';

describe('git-service as a GitHub App (JWT, installation tokens refreshed before expiry), against the fake GitHub checking GitHub’s OpenAPI description', () => {
  let fx: GitHubFixture;
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let clock: ShiftedClock;
  let forge: GitHubForge;
  let mirrors: MirrorService;
  let api: GitHubApiClient;
  let repo: ForgeRepoRef;
  let clone: GitHubAgentClone;
  let head: string;
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

  function build(privateKey: string): { config: GitServiceConfig; credentials: GitHubCredentials } {
    const config = Object.assign(new GitServiceConfig(), {
      VAULT_PATH: fx.vaultPath,
      WORK_DIR: fx.workDir,
      GIT_TIMEOUT_MS: 60_000,
      GITHUB_APP_ID: APP_ID,
      GITHUB_APP_PRIVATE_KEY: privateKey,
      GITHUB_APP_INSTALLATION_ID: String(INSTALLATION),
    });
    const forgeConfig = new ForgeConfigRepository(config);
    return { config, credentials: new GitHubCredentials(config, forgeConfig, silentLogger(), clock) };
  }

  beforeAll(async () => {
    fx = await createGitHubFixture();
    fx.github.enableApp({ appId: APP_ID, publicKey: keys.publicKey, installationId: INSTALLATION });
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'github-app-test' });
    clock = new ShiftedClock();
    const { config, credentials } = build(pem);
    const forgeConfig = new ForgeConfigRepository(config);
    api = new GitHubApiClient(config, forgeConfig, clock, silentLogger(), credentials);
    mirrors = new MirrorService(new GitClient(config), new TokenGitClient(config, new GitClient(config), credentials), config, silentLogger());
    forge = new GitHubForge(api, mirrors, new PrOriginStore(bus), clock, config);
    repo = forgeConfig.githubRepo(GH_REPO)!;
    clone = new GitHubAgentClone(fx, 'agent', BRANCH);
    head = clone.commit({ 'src/app.js': 'export const app = true;\n' }, 'As an app');
  });

  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
    await fx?.stop();
  });

  afterEach(() => {
    const found = fx.github.violations.splice(0);
    expect(found).toEqual([]);
  });

  it('pushes and opens a PR with one installation token, asked for with a JWT the fake verifies with the app’s public key', async () => {
    await mirrors.importBundle(repo, clone.bundle(), BRANCH, head);
    expect(await forge.ensureBranchPushed(repo, BRANCH, head)).toEqual({ pushed: true });
    const pr = await forge.openPr(repo, {
      title: 'FR-002: As an app',
      body: 'x',
      draft: true,
      labels: ['agency'],
      headSha: head,
      branch: BRANCH,
      base: 'main',
      frId: 'FR-002',
      sagaId: 'saga-app',
      jobId: 'job-app',
    });
    expect(pr).toMatchObject({ number: 1, draft: true });
    expect(fx.github.installationTokens.size).toBe(1);
    expect(fx.github.requests.filter((r) => r.operationId === 'apps/create-installation-access-token').map((r) => r.status)).toEqual([201]);
    // Git (push) and REST both ran on it: every request after the token was authorized.
    expect(fx.github.requests.filter((r) => r.status === 401)).toEqual([]);
  });

  it('asks for a new installation token ten minutes before the current one expires, not before', async () => {
    clock.shiftMs = fx.github.shiftMs = 45 * 60_000;
    await api.getPull(repo, 1);
    expect(fx.github.installationTokens.size).toBe(1);
    clock.shiftMs = fx.github.shiftMs = 51 * 60_000;
    await api.getPull(repo, 1);
    await forge.ensureBranchPushed(repo, BRANCH, head);
    expect(fx.github.installationTokens.size).toBe(2);
    expect(fx.github.requests.filter((r) => r.status === 401)).toEqual([]);
  });

  it('replaces an installation token GitHub refuses (revoked) on the same call', async () => {
    fx.github.expireInstallationTokens();
    expect((await api.getPull(repo, 1))?.number).toBe(1);
    expect(fx.github.installationTokens.size).toBe(3);
  });

  it('a wrong private key is refused as GITHUB_APP_REFUSED (a dead letter), naming the settings, not the JWT', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const { config, credentials } = build(other);
    const wrong = new GitHubApiClient(config, new ForgeConfigRepository(config), clock, silentLogger(), credentials);
    const failure = await wrong.getPull(repo, 1).then(
      () => undefined,
      (e: unknown) => e as { code: string; kind: string; message: string },
    );
    expect(failure).toMatchObject({ code: 'GITHUB_APP_REFUSED', kind: 'invalid' });
    expect(failure!.message).toMatch(/GITHUB_APP_ID/);
    expect(failure!.message).not.toMatch(/eyJ/);
  });

  it('writes neither the key nor any installation token anywhere', () => {
    for (const token of fx.github.installationTokens.keys()) expect(fx.filesContaining(token)).toEqual([]);
    expect(fx.filesContaining(pem.split('\n')[1]!)).toEqual([]);
  });
});
