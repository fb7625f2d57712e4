import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configureService } from '@agency/bootstrap';
import type { DashboardOverview, SagaList } from '@agency/contracts';
import { LocalStack, seedVault } from '@agency/stack';
import { createLogger } from '@agency/telemetry';
import { expectEventually, freePort, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { createDashboardApp, type RunningDashboard } from '../src/bootstrap/run-dashboard.js';
import { DashboardConfig } from '../src/dashboard.config.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/**
 * FRs the intake refused are on the dashboard (issue 13 item 8): the real orchestrator (its own
 * process, from dist/) refuses files in the vault, and the dashboard's overview, which the page
 * draws its "Refused at intake" cards from, lists each with its code, file and reason.
 */
describe('refused FRs on the dashboard (real orchestrator, nats-server and vault)', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let stack: LocalStack;
  let dashboard: RunningDashboard;
  let planned: string;

  beforeAll(async () => {
    // The orchestrator's compiled code (tools/build.mjs only compiles what changed).
    const libs = readdirSync(join(ROOT, 'libs')).map((l) => `libs/${l}`);
    execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--quiet', 'apps/orchestrator', ...libs], { cwd: ROOT, stdio: 'inherit' });
    nats = await startNatsServer();
    dir = tempDir('dashboard-refused-');
    const vault = join(dir.path, 'vault');
    seedVault(join(ROOT, 'examples', 'vault'), vault);
    planned = join(vault, '10_features', '03_planned');
    stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: ROOT,
      natsUrl: nats.url,
      ports: { orchestrator: await freePort() },
      env: { LOG_LEVEL: 'info', SCAN_INTERVAL_MS: '300' },
    });
    // Only the orchestrator, on the test's nats-server (start() would bring up all seven).
    stack.natsUrl = nats.url;
    mkdirSync(join(dir.path, 'run', 'logs'), { recursive: true });
    await stack.startService('orchestrator');
    const configured = await configureService('dashboard', DashboardConfig, {
      NATS_URL: nats.url,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      ORCHESTRATOR_URL: stack.url('orchestrator'),
      // Nothing listens there: the overview says so and still shows what the orchestrator knows.
      REGISTRY_URL: 'http://127.0.0.1:9',
      GIT_SERVICE_URL: 'http://127.0.0.1:9',
    });
    dashboard = await createDashboardApp(configured, createLogger({ service: 'dashboard', level: 'warn' }));
    await expectEventually(async () => expect((await overview()).sagas.map((s) => s.frId)).toEqual(['FR-001']), {
      timeoutMs: 20_000,
      message: 'the orchestrator takes FR-001 from the planned folder',
    });
  }, 120_000);

  afterAll(async () => {
    await dashboard?.close();
    await stack?.stop();
    await nats?.dispose();
    dir?.remove();
  });

  async function overview(): Promise<DashboardOverview> {
    const res = await fetch(`${dashboard.url}/api/overview`);
    expect(res.status).toBe(200);
    return (await res.json()) as DashboardOverview;
  }

  it('lists an FR refused for an unknown repo and one refused as a duplicate id, each with its reason, beside the runs', async () => {
    writeFileSync(join(planned, 'FR-090-elsewhere.md'), '---\nid: FR-090\ntitle: Elsewhere\nrepo: acme/unknown\n---\n## Acceptance criteria\n- works\n');
    writeFileSync(join(planned, 'FR-001-again.md'), '---\nid: FR-001\ntitle: The same id again\n---\n## Acceptance criteria\n- works\n');

    await expectEventually(
      async () =>
        expect((await overview()).refused.map((r) => r.path).sort()).toEqual([
          '10_features/03_planned/FR-001-again.md',
          '10_features/03_planned/FR-090-elsewhere.md',
        ]),
      { timeoutMs: 20_000, message: 'both files refused' },
    );
    const o = await overview();
    const byPath = new Map(o.refused.map((r) => [r.path.split('/').pop(), r]));
    expect(byPath.get('FR-090-elsewhere.md')).toMatchObject({ frId: 'FR-090', code: 'INVALID', now: '10_features/09_blocked/FR-090-elsewhere.md' });
    expect(byPath.get('FR-090-elsewhere.md')?.reason).toContain('acme/unknown');
    expect(byPath.get('FR-001-again.md')).toMatchObject({ frId: 'FR-001', code: 'DUPLICATE_ID' });
    expect(byPath.get('FR-001-again.md')?.reason).toMatch(/FR-001-/);
    // The refused files are no runs: FR-001's run goes on; the orchestrator answered (only the absent registry and git-service are errors).
    expect(o.sagas.map((s) => s.frId)).toEqual(['FR-001']);
    expect(Object.keys(o.errors)).not.toContain('orchestrator');
    // The list the page's other views read carries them too.
    const list = (await (await fetch(`${dashboard.url}/api/sagas`)).json()) as SagaList;
    expect(list.refused.map((r) => r.frId).sort()).toEqual(['FR-001', 'FR-090']);
  });
});
