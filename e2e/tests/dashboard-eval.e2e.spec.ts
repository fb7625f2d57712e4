import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FailureCode, ScriptedAnswers, suiteFigures, TaskOutcome, variantLabel, type SuiteReport, type TaskResult, type Variant } from '@agency/eval';
import { BusConnection, ensureStreams } from '@agency/messaging';
import { startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { startDashboard, stopDashboard, type DashboardProcess } from './support/dashboard-process.js';
import { checkedShot } from './support/screenshots.js';

// The dashboard's eval pages in headless Chromium: the dashboard process (its own NATS, no other
// service: the pages read only EVAL_DIR) over two suite runs as `agency eval run` writes them.

const root = join(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.DASHBOARD_SCREENSHOTS_DIR ?? join(root, 'tmp', 'dashboard-screenshots');
const HOSTILE = '<img src=x onerror="document.title=1">';

function task(name: string, outcome: TaskOutcome, cost: number, extra: Partial<TaskResult> = {}): TaskResult {
  const reachedPr = outcome === TaskOutcome.Resolved || outcome === TaskOutcome.Unresolved;
  return {
    task: name,
    title: name,
    outcome,
    reachedPr,
    resolved: outcome === TaskOutcome.Resolved,
    wallMs: 30_000,
    figures: {
      usage: {
        planner: { calls: 1, inputTokens: 410, cachedInputTokens: 0, outputTokens: 52, costUsd: 0.002 },
        coder: { calls: 2, inputTokens: 4100, cachedInputTokens: 1920, outputTokens: 120, costUsd: cost - 0.002 },
      },
      costUsd: cost,
      steps: [{ step: 'plan', ms: 900 }],
      reviewRounds: reachedPr ? 1 : 0,
      ...(reachedPr ? { timeToPrMs: 21_500, prTests: { passed: true, format: 'tap', total: 4, failed: 0 } } : {}),
      stepFailures: [],
    },
    ...extra,
  };
}

function report(suite: string, startedAt: string, variants: Array<[Variant, TaskResult[]]>): SuiteReport {
  return {
    suite,
    startedAt,
    finishedAt: startedAt.replace('T10', 'T11'),
    answers: [...new Set(variants.map(([v]) => v.answers ?? 'models'))].join(', '),
    machine: 'ci, 2 × vCPU, load 1.00 1.00 1.00',
    variants: variants.map(([variant, tasks]) => ({ variant, label: variantLabel(variant), figures: suiteFigures(tasks), tasks })),
  };
}

describe('dashboard eval pages in headless Chromium', () => {
  let dir: TempDir;
  let nats: NatsServerHandle;
  let dashboard: DashboardProcess | undefined;
  let url: string;
  let browser: Browser;
  let page: Page;
  /** A blank page decodes the screenshots: the eval pages' CSP allows no data: image. */
  let decoder: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
    mkdirSync(SHOTS, { recursive: true });
    dir = tempDir('agency-dashboard-eval-e2e-');
    const evalDir = join(dir.path, 'eval');
    const write = (id: string, r: SuiteReport) => {
      mkdirSync(join(evalDir, id), { recursive: true });
      writeFileSync(join(evalDir, id, 'report.json'), JSON.stringify(r));
    };
    write(
      'starter-oracle-wrong-1',
      report('starter', '2026-12-03T10:00:00.000Z', [
        [{ answers: ScriptedAnswers.Oracle }, [task('ms-months', TaskOutcome.Resolved, 0.017), task(HOSTILE, TaskOutcome.Resolved, 0.023)]],
        [
          { answers: ScriptedAnswers.Wrong },
          [task('ms-months', TaskOutcome.Unresolved, 0.009), task(HOSTILE, TaskOutcome.NoPr, 0.004, { failureCode: FailureCode.CodeFailed })],
        ],
      ]),
    );
    write('fixture-models-2', report('fixture', '2026-12-02T10:00:00.000Z', [[{ tier: 'small' }, [task('slug-dashes', TaskOutcome.Resolved, 0.01)]]]));
    mkdirSync(join(evalDir, 'unfinished'));

    nats = await startNatsServer();
    // The streams the services make at boot (the dashboard is ready once it has read the event stream).
    const bus = await BusConnection.connect({ servers: nats.url, name: 'dashboard-eval-e2e' });
    await ensureStreams(bus.jsm);
    await bus.close();
    mkdirSync(join(dir.path, 'logs'));
    dashboard = await startDashboard(root, join(dir.path, 'logs', 'dashboard.log'), { NATS_URL: nats.url, EVAL_DIR: evalDir });
    url = dashboard.url;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    decoder = await browser.newPage();
    // A blocked stylesheet (the pages' CSP), a script error or a failed request would show here.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopDashboard(dashboard);
    await nats?.dispose();
    if (process.env.KEEP_E2E_DIR) console.log(`e2e state kept in ${dir.path}`);
    else dir?.remove();
  });

  it('lists every suite run and variant with its resolved rate, costs and time to PR, styled', async () => {
    await page.goto(`${url}/eval`);
    expect(await page.locator('main h2').first().textContent()).toBe('Eval runs');
    const rows = page.locator('main table tbody tr');
    expect(await rows.count()).toBe(3);
    const cells = async (i: number) => (await rows.nth(i).locator('td').allTextContents()).map((c) => c.trim());
    const all = await Promise.all([0, 1, 2].map(cells));
    const oracle = all.find((r) => r[3] === 'answers oracle')!;
    const wrong = all.find((r) => r[3] === 'answers wrong')!;
    expect(oracle.slice(0, 9)).toEqual([
      'starter-oracle-wrong-1',
      'starter',
      'oracle, wrong',
      'answers oracle',
      '2/2 (100%)',
      '2',
      '$0.0200',
      '$0.0200',
      '21.5 s / 21.5 s',
    ]);
    expect(wrong.slice(3, 9)).toEqual(['answers wrong', '0/2 (0%)', '1', '$0.0065', '–', '21.5 s / 21.5 s']);
    expect(all.find((r) => r[0] === 'fixture-models-2')!.slice(3, 5)).toEqual(['tier small', '1/1 (100%)']);
    // The stylesheet applied: the header's dark bar and the page's background in the pixels.
    await checkedShot(page, join(SHOTS, 'eval-01-runs.png'), 'eval-01-runs', [], decoder);
    expect(problems).toEqual([]);
  });

  it("opens a run from the list: each variant's tasks with tokens (cached too), cost, PR tests and failure code", async () => {
    await page.locator('main table a', { hasText: 'starter-oracle-wrong-1' }).first().click();
    await page.waitForURL(`${url}/eval/starter-oracle-wrong-1`);
    const headings = await page.locator('main section h2').allTextContents();
    expect(headings).toEqual(['starter (oracle, wrong)', 'answers oracle: 2/2 resolved, $0.0400', 'answers wrong: 0/2 resolved, $0.0130']);
    const wrongRows = page.locator('main section').nth(2).locator('tbody tr');
    const failed = (await wrongRows.nth(1).locator('td').allTextContents()).map((c) => c.trim());
    // The task's hostile name is shown as text, not markup.
    expect(failed[0]).toBe(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    expect(failed.slice(1, 5)).toEqual(['no-pr', 'no', '–', '0']);
    expect(failed[5]).toBe('planner 1× 410/0/52coder 2× 4100/1920/120');
    expect(failed.slice(6)).toEqual(['$0.0040', '–', 'CODE_FAILED']);
    const resolved = (await page.locator('main section').nth(1).locator('tbody tr').first().locator('td').allTextContents()).map((c) => c.trim());
    expect(resolved).toEqual(['ms-months', 'resolved', 'yes', 'pass', '1', 'planner 1× 410/0/52coder 2× 4100/1920/120', '$0.0170', '21.5 s', '']);
    await checkedShot(page, join(SHOTS, 'eval-02-run.png'), 'eval-02-run', [], decoder);
    // Back to the list, and to the FRs, through the header's links.
    await page.locator('header a', { hasText: 'Eval runs' }).click();
    await page.waitForURL(`${url}/eval`);
    expect(await page.locator('header a', { hasText: 'FRs' }).getAttribute('href')).toBe('/');
    expect(problems).toEqual([]);
  });

  it('answers 404 for a run that is not there, or a name that leaves EVAL_DIR', async () => {
    for (const id of ['unfinished', 'nope', '..%2Feval']) {
      const answer = await page.goto(`${url}/eval/${id}`);
      expect(answer?.status(), id).toBe(404);
    }
    for (const name of ['eval-01-runs', 'eval-02-run']) expect(statSync(join(SHOTS, `${name}.png`)).size).toBeGreaterThan(20_000);
  });
});
