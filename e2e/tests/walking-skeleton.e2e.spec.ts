import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusAuthError, BusConnection } from '@agency/messaging';
import { LocalStack, seedBareRepo, seedVault, STACK_SERVICES, type StackService } from '@agency/stack';
import { expectEventually, freePort, startOtlpReceiver, tempDir, type OtlpReceiver, type TempDir } from '@agency/testing';

const root = join(import.meta.dirname, '..', '..');

interface SagaSummary {
  frId: string;
  state: string;
  prUrl?: string;
  traceId: string;
  costUsd: number;
  failure?: string;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

function frFile(vault: string, folder: string, frId: string): string | undefined {
  const dir = join(vault, '10_features', folder);
  const hit = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(`${frId}-`)) : undefined;
  return hit ? join(dir, hit) : undefined;
}

// The stack starts its own nats-server, with a NATS user per service: the walking skeleton runs with
// the bus locked, each service allowed only its own subjects.
describe('walking skeleton: an FR file in, a pull request out, across seven processes', () => {
  let dir: TempDir;
  let otlp: OtlpReceiver;
  let stack: LocalStack;
  let vault: string;
  let forge: string;

  const sagas = async (): Promise<SagaSummary[]> => ((await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()) as { sagas: SagaSummary[] }).sagas;
  const saga = async (frId: string) => (await sagas()).find((s) => s.frId === frId);

  beforeAll(async () => {
    dir = tempDir('agency-e2e-');
    vault = join(dir.path, 'vault');
    forge = join(dir.path, 'forge');
    seedVault(join(root, 'examples', 'vault'), vault);
    writeFileSync(
      join(vault, '40_config', 'agency.yaml'),
      readFileSync(join(vault, '40_config', 'agency.yaml'), 'utf8').replace('root: ../../forge', `root: ${forge}`),
    );
    seedBareRepo(forge, 'example/greeter', join(root, 'examples', 'repos', 'greeter'));
    // A second, generic FR flows through the script's catch-all rules; a broken one must not stop either.
    writeFileSync(
      join(vault, '10_features', '03_planned', 'FR-002-changelog.md'),
      '---\nid: FR-002\ntitle: Keep a changelog note\npriority: high\n---\n\n## Problem\n\nNo notes.\n\n## Acceptance criteria\n\n- docs/FR-002.md exists\n',
    );
    writeFileSync(join(vault, '10_features', '03_planned', 'FR-003-broken.md'), '---\nid: FR-003\ntitle: [unclosed\npriority: urgent\n---\nBody\n');
    otlp = await startOtlpReceiver();
    const ports = Object.fromEntries(await Promise.all(STACK_SERVICES.map(async (s) => [s, await freePort()]))) as Record<StackService, number>;
    stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: root,
      ports,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', LOG_LEVEL: 'info', SCAN_INTERVAL_MS: '1000' },
    });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
    await otlp?.close();
    if (process.env.KEEP_E2E_DIR) console.log(`e2e state kept in ${dir.path}`);
    else dir?.remove();
  });

  it('takes FR-001 and FR-002 to an open pull request each, and blocks the broken FR with its reason', async () => {
    await expectEventually(
      async () => {
        const all = await sagas();
        for (const id of ['FR-001', 'FR-002']) {
          const s = all.find((x) => x.frId === id);
          expect(s?.failure ?? '').toBe('');
          expect(s?.state).toBe('awaiting-merge');
        }
      },
      { timeoutMs: 180_000, intervalMs: 500, message: 'FR-001 and FR-002 awaiting merge' },
    );

    // The broken FR: moved to blocked, with the problem written into the file.
    const broken = frFile(vault, '09_blocked', 'FR-003');
    expect(broken).toBeDefined();
    const brokenText = readFileSync(broken!, 'utf8');
    expect(brokenText).toMatch(/## Agency log[\s\S]*the agency cannot take this FR: front matter: YAML error at line 4: Flow sequence/);
    expect(frFile(vault, '03_planned', 'FR-003')).toBeUndefined();
    // ...and reported in the orchestrator's structured log, naming the file, the FR and the problem.
    const rejected = readFileSync(stack.logFile('orchestrator'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('FR file rejected'))
      .map((l) => JSON.parse(l) as { level: number | string; frPath?: string; frId?: string; msg: string });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      frPath: '10_features/03_planned/FR-003-broken.md',
      frId: 'FR-003',
      msg: expect.stringContaining('front matter: YAML error at line 4'),
    });
  });

  it('pushed the coder commit to an agency branch of the bare remote and recorded the PR', async () => {
    const s = (await saga('FR-001'))!;
    // FR-002 runs alongside and may have opened its draft PR first: take the number from the saga.
    expect(s.prUrl).toMatch(/^local:\/\/example\/greeter\/pulls\/\d+$/);
    const number = Number(s.prUrl!.split('/').pop());
    const bare = join(forge, 'example', 'greeter.git');
    const branches = git(bare, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/');
    const branch = branches.split('\n').find((b) => b.startsWith('agency/FR-001-'));
    expect(branch).toBe('agency/FR-001-add-a-farewell-function');
    expect(git(bare, 'show', `${branch}:src/farewell.js`)).toContain('return `Goodbye, ${name}!`;');
    expect(git(bare, 'show', `${branch}:test/farewell.test.js`)).toContain("farewell('Ada')");
    expect(git(bare, 'log', '-1', '--format=%an <%ae>', branch!)).toBe('Agency <agency@localhost>');
    // main is untouched until a human merges.
    expect(() => git(bare, 'show', 'main:src/farewell.js')).toThrow();

    const pr = (await (await fetch(`${stack.url('git-service')}/forge/local/repos/example/greeter/pulls/${number}`)).json()) as Record<string, unknown>;
    expect(pr).toMatchObject({ number, branch, base: 'main', state: 'open', draft: false });
    expect(String(pr.body)).toContain('FR-001');
    expect(String(pr.body)).toContain(s.traceId);
    // The description's cost comes to the FR's total, also when the last call's usage arrived after the PR opened.
    await expectEventually(
      async () => {
        const cost = (await saga('FR-001'))!.costUsd;
        expect(cost).toBeGreaterThan(0);
        const body = String(
          ((await (await fetch(`${stack.url('git-service')}/forge/local/repos/example/greeter/pulls/${number}`)).json()) as { body: string }).body,
        );
        expect(body).toContain(`### Cost\n\n$${cost.toFixed(4)} (model usage for FR-001`);
      },
      { timeoutMs: 30_000, message: "the PR's cost equals the FR's total" },
    );

    const inReview = frFile(vault, '05_in_review', 'FR-001');
    expect(inReview).toBeDefined();
    const text = readFileSync(inReview!, 'utf8');
    expect(text).toMatch(/^status: in_review$/m);
    expect(text).toMatch(new RegExp(`^pr: ${s.prUrl}$`, 'm'));
  });

  it('moves FR-001 to done with the PR reference once a human merges the PR', async () => {
    const { prUrl } = (await saga('FR-001'))!;
    const res = await fetch(`${stack.url('git-service')}/forge/local/repos/example/greeter/pulls/${prUrl!.split('/').pop()}/merge`, { method: 'POST' });
    expect(res.status).toBeLessThan(300);
    await expectEventually(async () => expect((await saga('FR-001'))?.state).toBe('done'), { timeoutMs: 30_000 });
    const done = await expectEventually(() => {
      const f = frFile(vault, '06_done', 'FR-001');
      expect(f).toBeDefined();
      return f!;
    });
    const text = readFileSync(done, 'utf8');
    expect(text).toMatch(/^status: done$/m);
    expect(text).toMatch(new RegExp(`^pr: ${prUrl}$`, 'm'));
    expect(git(join(forge, 'example', 'greeter.git'), 'show', 'main:src/farewell.js')).toContain('Goodbye');
  });

  it('ran on a locked bus: no permission was refused along the way, and a client without credentials is turned away', async () => {
    // nats-server logs every publish or subscription it refuses: the table covers what the services did.
    expect(readFileSync(stack.natsLogFile, 'utf8')).not.toMatch(/Violation/);
    const anonymous = await BusConnection.connect({ servers: stack.natsUrl, name: 'anonymous' }).catch((e: Error) => e);
    expect(anonymous).toBeInstanceOf(BusAuthError);
  });

  it('exported one trace for FR-001 with spans from all seven services', async () => {
    const { traceId } = (await saga('FR-001'))!;
    await expectEventually(
      () => {
        const services = new Set(otlp.spans.filter((s) => s.traceId === traceId).map((s) => s.service));
        expect([...services].sort()).toEqual([...STACK_SERVICES].sort());
      },
      { timeoutMs: 20_000, message: `spans of trace ${traceId} from all services` },
    );
    const spans = otlp.spans.filter((s) => s.traceId === traceId);
    expect(spans.find((s) => s.name === 'FR FR-001')).toBeDefined();
    expect(spans.some((s) => s.service === 'llm-gateway' && s.attributes['gen_ai.request.model'] !== undefined)).toBe(true);
  });
});
