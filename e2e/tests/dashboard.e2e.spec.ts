import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { LocalStack, seedBareRepo, seedVault, STACK_SERVICES, type StackService } from '@agency/stack';
import { expectEventually, freePort, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { startDashboard, stopDashboard, type DashboardProcess } from './support/dashboard-process.js';
import { checkedShot, COLOURS, near, pngColours } from './support/screenshots.js';

// The dashboard in headless Chromium (Debian's chromium driven by playwright-core) against the
// seven services as processes (LocalStack) plus the dashboard process: FRs by state, the queue,
// a timeline with durations and costs, PR and trace links, the four buttons, live updates.
// Every tier asks for plan approval here, so the FRs stop where a person must act.

const root = join(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.DASHBOARD_SCREENSHOTS_DIR ?? join(root, 'tmp', 'dashboard-screenshots');

describe('dashboard in headless Chromium', () => {
  let dir: TempDir;
  let nats: NatsServerHandle;
  let stack: LocalStack;
  let dashboard: DashboardProcess | undefined;
  let dashboardUrl: string;
  let browser: Browser;
  let page: Page;
  let reloads = 0;

  const card = (frId: string) => page.locator(`#board a.card[data-fr="${frId}"]`);
  const column = (group: string, frId: string) => page.locator(`#board .column-${group} a.card[data-fr="${frId}"]`);
  const button = (action: string) => page.locator(`#detail button[data-action="${action}"]`);
  const stateOf = async (frId: string) => ((await (await fetch(`${stack.url('orchestrator')}/sagas/${frId}`)).json()) as { state: string }).state;

  /**
   * A full-page screenshot, checked by its pixels: the dark header bar and the page background
   * are drawn, with text (many anti-aliased shades), and each named badge shows its state's colour.
   */
  async function shot(name: string, badges: Array<[Locator, string]> = []): Promise<string> {
    const file = join(SHOTS, `${name}.png`);
    await checkedShot(page, file, name);
    for (const [badge, background] of badges) {
      // The badge's own pixels: mostly its state's background, behind its text. The page is live: an event
      // that arrives meanwhile (a cancelled job's cleanup) redraws it, and a badge drawn again is shot again.
      const png = await expectEventually(() => badge.screenshot({ timeout: 5_000 }), {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: `a screenshot of ${name}'s badge`,
      });
      const [top] = await pngColours(page, png);
      expect(near(top![0], background), `${name}: badge "${await badge.textContent()}" is ${top![0]}, expected ${background}`).toBe(true);
    }
    return file;
  }

  async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    await expectEventually(async () => expect(await check()).toBe(true), { timeoutMs, intervalMs: 250, message: what });
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
    mkdirSync(SHOTS, { recursive: true });
    dir = tempDir('agency-dashboard-e2e-');
    const vault = join(dir.path, 'vault');
    const forge = join(dir.path, 'forge');
    seedVault(join(root, 'examples', 'vault'), vault);
    const config = readFileSync(join(vault, '40_config', 'agency.yaml'), 'utf8')
      .replace('root: ../../forge', `root: ${forge}`)
      .replaceAll('plan_approval: false', 'plan_approval: true');
    writeFileSync(join(vault, '40_config', 'agency.yaml'), config);
    writeFileSync(
      join(vault, '10_features', '03_planned', 'FR-002-changelog.md'),
      '---\nid: FR-002\ntitle: Keep a changelog note\npriority: high\n---\n\n## Problem\n\nNo notes.\n\n## Acceptance criteria\n\n- docs/FR-002.md exists\n',
    );
    seedBareRepo(forge, 'example/greeter', join(root, 'examples', 'repos', 'greeter'));
    nats = await startNatsServer();
    const ports = Object.fromEntries(await Promise.all(STACK_SERVICES.map(async (s) => [s, await freePort()]))) as Record<StackService, number>;
    stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: root,
      natsUrl: nats.url,
      ports,
      env: { LOG_LEVEL: 'info', SCAN_INTERVAL_MS: '1000' },
      // Host processes: the dashboard is under test here, not the Docker sandbox.
      serviceEnv: { 'agent-runner': { SANDBOX: 'process' } },
    });
    await stack.start();

    dashboard = await startDashboard(root, join(dir.path, 'run', 'logs', 'dashboard.log'), {
      NATS_URL: nats.url,
      ORCHESTRATOR_URL: stack.url('orchestrator'),
      REGISTRY_URL: stack.url('registry'),
      GIT_SERVICE_URL: stack.url('git-service'),
      TRACE_URL_TEMPLATE: 'http://jaeger.example:16686/trace/{traceId}',
    });
    dashboardUrl = dashboard.url;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('load', () => (reloads += 1));
    await page.goto(dashboardUrl);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopDashboard(dashboard);
    await stack?.stop();
    await nats?.dispose();
    if (process.env.KEEP_E2E_DIR) console.log(`e2e state kept in ${dir.path}`);
    else dir?.remove();
  });

  it('shows both FRs waiting for a person, live, with the queue', async () => {
    await waitUntil('the live indicator', async () => (await page.locator('#live').textContent()) === 'live', 15_000);
    await waitUntil(
      'FR-001 and FR-002 in "Needs a person"',
      async () => (await column('waiting', 'FR-001').count()) === 1 && (await column('waiting', 'FR-002').count()) === 1,
    );
    expect(await card('FR-001').textContent()).toContain('Add a farewell function');
    expect(await card('FR-001').textContent()).toContain('awaiting-plan-approval');
    expect(await page.locator('#counts').textContent()).toContain('awaiting-plan-approval 2');
    await waitUntil('the queue lists both jobs', async () => (await page.locator('#queue tbody tr').count()) === 2);
    expect(await page.locator('#queue').textContent()).toMatch(/FR-001\s*running/);
    expect(await page.locator('#events li').count()).toBeGreaterThan(3);
    await shot('01-board', [
      [card('FR-001').locator('.badge'), COLOURS.waiting],
      [card('FR-002').locator('.badge'), COLOURS.waiting],
    ]);
    // Everything so far came in over server-sent events: the page never reloaded.
    expect(reloads).toBe(1);
  });

  it("opens FR-001's timeline with each step, its duration and cost, and links to the trace", async () => {
    await card('FR-001').click();
    await waitUntil('the detail panel', async () => page.locator('#detail h2').isVisible());
    expect(await page.locator('#detail h2').textContent()).toBe('FR-001: Add a farewell function');
    const rows = page.locator('#detail table.timeline tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(5);
    const planRow = page.locator('#detail table.timeline tbody tr', { hasText: 'planning' });
    const cells = await planRow.locator('td').allTextContents();
    expect(cells[1]).toBe('plan');
    expect(cells[3]).toMatch(/^\d+ (ms|s)$/);
    expect(cells[4]).toMatch(/^\$\d/); // the planner's model call, priced from the vault
    expect(await page.locator('#detail tr.current').textContent()).toContain('awaiting-plan-approval');
    const trace = page.locator('#detail .links a', { hasText: /^[0-9a-f]{32}$/ });
    expect(await trace.getAttribute('href')).toMatch(/^http:\/\/jaeger\.example:16686\/trace\/[0-9a-f]{32}$/);
    expect(await button('approve').isEnabled()).toBe(true);
    expect(await button('retry').isDisabled()).toBe(true);
    await shot('02-timeline-awaiting-approval');
  });

  it('approves the plan, and follows FR-001 live to its pull request', async () => {
    await page.locator('#action-note').fill('plan looks right');
    await button('approve').click();
    await waitUntil('the approve answer', async () => /approve: now coding/.test((await page.locator('#action-result').textContent()) ?? ''), 15_000);
    await waitUntil(
      'FR-001 awaiting merge on the page',
      async () => (await page.locator('#detail tr.current').textContent())?.includes('awaiting-merge') ?? false,
    );
    expect(await column('waiting', 'FR-001').textContent()).toContain('awaiting-merge');
    const steps = await page.locator('#detail table.timeline tbody tr td:nth-child(2)').allTextContents();
    expect(steps).toEqual(expect.arrayContaining(['plan', 'plan-approval', 'code-r1', 'test-r1', 'review-r1', 'open-pr-r1', 'merge-r1']));
    const coderCost = await page.locator('#detail table.timeline tbody tr', { hasText: 'code-r1' }).first().locator('td').nth(4).textContent();
    expect(coderCost).toMatch(/^\$\d/);
    const pr = page.locator('#detail .links a', { hasText: 'local://example/greeter/pulls/1' });
    // A local PR's link leads to the PR shown in the page's workbench; the forge's record itself is JSON.
    expect(await pr.getAttribute('href')).toBe('#work-pr');
    const record = (await (await fetch(`${dashboardUrl}/forge/local/repos/example/greeter/pulls/1`)).json()) as { state: string; branch: string };
    expect(record).toMatchObject({ state: 'open', branch: 'agency/FR-001-add-a-farewell-function' });
    // The answer to the button press survived the many live re-renders since.
    expect(await page.locator('#action-result').textContent()).toBe('approve: now coding');
    await shot('03-timeline-pull-request', [
      [page.locator('#detail .detail-meta .badge'), COLOURS.waiting],
      [card('FR-001').locator('.badge'), COLOURS.waiting],
    ]);
    expect(reloads).toBe(1);
  });

  it('rejects, retries and cancels FR-002 with the buttons, and shows a refused action with its reason', async () => {
    await page.goto(`${dashboardUrl}/#/fr/FR-002`);
    await waitUntil('FR-002 detail', async () => (await page.locator('#detail h2').textContent()) === 'FR-002: Keep a changelog note');
    await page.locator('#action-note').fill('not this sprint');
    // A live update re-renders the panel: what the person typed stays, with the focus. The page
    // redraws only when its data changed, so the next answer is changed on the way (a new event in
    // the FR's timeline would do the same) and the test waits for that redraw.
    const renders = Number(await page.locator('#detail').getAttribute('data-renders'));
    await page.route('**/api/sagas/FR-002', async (route) => {
      const answer = await route.fetch();
      const body = (await answer.json()) as { saga: { updatedAt?: string } };
      await route.fulfill({ response: answer, json: { ...body, saga: { ...body.saga, updatedAt: new Date(0).toISOString() } } });
    });
    await page.evaluate("window.dispatchEvent(new Event('hashchange'))");
    await waitUntil('the panel drawn again', async () => Number(await page.locator('#detail').getAttribute('data-renders')) > renders);
    await page.unroute('**/api/sagas/FR-002');
    expect(await page.locator('#action-note').inputValue()).toBe('not this sprint');
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('action-note');
    await button('reject').click();
    await waitUntil('FR-002 blocked', async () => (await stateOf('FR-002')) === 'blocked', 15_000);
    await waitUntil('blocked on the page', async () => (await column('stopped', 'FR-002').count()) === 1);
    await waitUntil(
      'the reason on the page',
      async () => (await page.locator('#detail p.error').textContent()) === 'PLAN_REJECTED: plan rejected by dashboard: not this sprint',
      10_000,
    );
    expect(await button('retry').isEnabled()).toBe(true);

    await button('retry').click();
    await waitUntil('FR-002 back to awaiting approval', async () => (await stateOf('FR-002')) === 'awaiting-plan-approval', 15_000);
    await waitUntil('waiting again on the page', async () => (await column('waiting', 'FR-002').count()) === 1);

    await button('cancel').click();
    await waitUntil('FR-002 cancelled', async () => (await stateOf('FR-002')) === 'cancelled', 15_000);
    await waitUntil('cancelled on the page', async () => (await page.locator('#detail .detail-meta .badge').textContent()) === 'cancelled');
    const notes = await page.locator('#detail table.timeline tbody tr td:nth-child(7)').allTextContents();
    expect(notes.join(' | ')).toMatch(/plan rejected.*retried by dashboard/);

    // The orchestrator refuses an action the state does not allow; the page says why.
    const refused = await page.evaluate(async () => {
      const r = await fetch('/api/sagas/FR-002/approve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return { status: r.status, body: (await r.json()) as { message: string } };
    });
    expect(refused.status).toBe(409);
    expect(refused.body.message.length).toBeGreaterThan(5);
    await shot('04-cancelled', [[page.locator('#detail .detail-meta .badge'), COLOURS.stopped]]);
  });

  it('wrote screenshots that show the expected page', () => {
    for (const name of ['01-board', '02-timeline-awaiting-approval', '03-timeline-pull-request', '04-cancelled'])
      expect(statSync(join(SHOTS, `${name}.png`)).size).toBeGreaterThan(25_000);
  });
});
