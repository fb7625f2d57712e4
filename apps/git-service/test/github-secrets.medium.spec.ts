import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Messages, STREAMS, type Envelope, type OpenPrCommand } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { ArtifactStore, BusConnection, BusPublisher, Clock } from '@agency/messaging';
import { expectEventually, freePort, readStream, startNatsServer, type NatsServerHandle } from '@agency/testing';
import { createGitHubFixture, GH_REPO, GH_TOKEN, GitHubAgentClone, type GitHubFixture } from './support/github-fixture.js';
import { deliver, reviewPayload, webhookPull } from './support/webhook-payloads.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SECRET = 'whsec-process-test-9876543210';

/**
 * git-service as its own process (the built dist, as production runs it) at LOG_LEVEL=trace,
 * through a push, a PR, a GitHub failure and webhooks: its whole output is read back and must
 * not hold the token or the webhook secret.
 */
describe('git-service as a process never prints the GitHub token or the webhook secret', () => {
  let fx: GitHubFixture;
  let nats: NatsServerHandle;
  let child: ChildProcess;
  let output = '';
  let url = '';
  let bus: BusConnection;

  beforeAll(async () => {
    const libs = readdirSync(join(ROOT, 'libs')).map((l) => `libs/${l}`);
    execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs'), ...libs, 'apps/git-service', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
    fx = await createGitHubFixture();
    nats = await startNatsServer();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [join(ROOT, 'dist/apps/git-service/src/main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NATS_URL: nats.url,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'trace',
        VAULT_PATH: fx.vaultPath,
        WORK_DIR: fx.workDir,
        GITHUB_TOKEN: GH_TOKEN,
        GITHUB_WEBHOOK_SECRET: SECRET,
        BUS_MAX_DELIVER: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    await expectEventually(async () => expect((await fetch(`${url}/health/ready`)).status).toBe(200), {
      timeoutMs: 30_000,
      message: `git-service ready; output so far:\n${output}`,
    });
    bus = await BusConnection.connect({ servers: nats.url, name: 'secrets-test' });
  });

  afterAll(async () => {
    await bus?.close();
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    await nats?.dispose();
    await fx?.stop();
  });

  it('works through success and failure at trace level with neither secret in its output', async () => {
    const publisher = new BusPublisher(bus, new Clock());
    const clone = new GitHubAgentClone(fx, 'agent', 'agency/FR-001-farewell');
    const head = clone.commit({ 'src/farewell.js': 'export const farewell = (n) => `Goodbye, ${n}!`;\n' }, 'Add farewell()');
    const bundle = await new ArtifactStore(bus).put('FR-001/saga-p/code-r1.bundle', clone.bundle(), 'application/x-git-bundle');
    const env: Envelope<OpenPrCommand> = sampleEnvelope('OpenPr', { frId: 'FR-001', sagaId: 'saga-p', step: 'open-pr', attempt: 1 });
    env.payload.fr = { ...env.payload.fr, id: 'FR-001', repo: GH_REPO };
    env.payload.repo = { name: GH_REPO, cloneUrl: fx.github.gitUrl(GH_REPO), base: 'main', forge: 'github', testCommand: 'npm test' };
    env.payload.workspace = { branch: 'agency/FR-001-farewell', baseSha: fx.baseSha, headSha: head, bundle };
    await publisher.publishEnvelope(Messages.OpenPr, env, { msgId: randomUUID() });
    await expectEventually(() => expect(fx.github.pulls).toHaveLength(1), { timeoutMs: 30_000 });

    // A GitHub failure (the API refuses the merge of an unknown PR) and a rate limit, both logged.
    fx.github.limitNext('too-many', 1, 1);
    const merge = sampleEnvelope('MergePr', { frId: 'FR-001', sagaId: 'saga-p', step: 'merge', attempt: 1 });
    merge.payload = { repo: env.payload.repo, number: 42, method: 'merge' };
    await publisher.publishEnvelope(Messages.MergePr, merge, { msgId: randomUUID() });
    await expectEventually(
      async () => {
        const events = (await readStream(bus.js, STREAMS.events.name, 'agency.evt.git-service.>')).map(
          (m) => JSON.parse(m.text) as Envelope<{ code?: string }>,
        );
        expect(events.some((e) => e.type === Messages.GitStepFailed.type && e.payload.code === 'PR_NOT_FOUND')).toBe(true);
      },
      { timeoutMs: 30_000 },
    );

    const pull = webhookPull({ repo: GH_REPO, number: 1, branch: 'agency/FR-001-farewell' });
    expect(
      (
        await deliver(`${url}/forge/github/webhooks`, 'pull_request_review', reviewPayload(GH_REPO, pull, { state: 'commented', login: 'ada', body: 'ok' }), {
          secret: SECRET,
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await deliver(`${url}/forge/github/webhooks`, 'pull_request_review', reviewPayload(GH_REPO, pull, { state: 'commented', login: 'ada', body: 'ok' }), {
          secret: 'wrong',
        })
      ).status,
    ).toBe(401);

    await expectEventually(() => {
      expect(output).toContain('PR opened');
      expect(output).toContain('GitHub rate limit hit');
      expect(output).toContain('GitHub webhook published');
    });
    // The most talkative level was on: Octokit's request lines (method, path, status) are among them.
    expect(output).toMatch(/"level":"debug".*POST \/repos\/octo\/greeter\/pulls - 201/);
    expect(output).not.toContain(GH_TOKEN);
    expect(output).not.toContain(Buffer.from(`x-access-token:${GH_TOKEN}`).toString('base64'));
    expect(output).not.toContain(SECRET);
    expect(fx.filesContaining(GH_TOKEN)).toEqual([]);
    expect(fx.github.violations).toEqual([]);
  });
});
