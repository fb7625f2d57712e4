import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LocalStack, randomFreePortBase, seedBareRepo, seedVault } from '@agency/stack';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import { checkedShot, COLOURS } from './support/screenshots.js';

// The dashboard as a workbench, in headless Chromium against the quick start's stack (LocalStack
// with its dashboard, as `npm start` runs it): FR-001's plan whole, its round's diff file by
// file, the test run, the review and the coder's transcript (tool calls and results), at a
// desktop and at a phone width, with screenshots; and the merge from the page.

const root = join(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.DASHBOARD_SCREENSHOTS_DIR ?? join(root, 'tmp', 'dashboard-screenshots');

const FAREWELL = '/** Returns a polite goodbye for `name`. */\nexport function farewell(name) {\n  return `Goodbye, ${name}!`;\n}\n';
const TEST =
  "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { farewell } from '../src/farewell.js';\n\ntest('farewell says goodbye', () => {\n  assert.equal(farewell('Ada'), 'Goodbye, Ada!');\n});\n";
const turn = (...calls: Array<[string, Record<string, unknown>]>) => ({ tool_calls: calls.map(([name, args]) => ({ name, arguments: args })) });
/** A coder that works with tools (the example script's answers in one JSON reply), so the transcript has tool calls and results. */
const SCRIPT = {
  version: 1,
  rules: [
    {
      match: { model: 'planner', fr: 'FR-001' },
      reply: {
        content: JSON.stringify({
          summary: 'Add farewell(name) and a test.',
          steps: [
            { title: 'Add farewell()', files: ['src/farewell.js'], detail: 'Return a goodbye.' },
            { title: 'Test it', files: ['test/farewell.test.js'], detail: 'node:test' },
          ],
          risks: ['none'],
        }),
      },
    },
    {
      match: { model: 'coder', fr: 'FR-001' },
      replies: [
        turn(['write_file', { path: 'src/farewell.js', content: FAREWELL }], ['write_file', { path: 'test/farewell.test.js', content: TEST }]),
        // The round codes on until the test has looked at its live transcript and drops this file in the worktree.
        turn(['run_command', { command: 'while [ ! -f .release-live ]; do sleep 0.2; done; rm .release-live; node --test' }]),
        turn(['finish', { summary: 'Added farewell() and its test.' }]),
      ],
    },
    {
      match: { model: 'reviewer', fr: 'FR-001' },
      reply: { content: JSON.stringify({ verdict: 'approve', confidence: 0.93, summary: 'farewell() matches the FR and is tested.', findings: [] }) },
    },
  ],
};

describe('the dashboard as a workbench', () => {
  let dir: TempDir;
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  let url = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = tempDir('agency-workbench-e2e-');
    const vault = join(dir.path, 'vault');
    seedVault(join(root, 'examples', 'vault'), vault);
    writeFileSync(join(vault, '40_config', 'llm-script.yaml'), JSON.stringify(SCRIPT, null, 2));
    // The example's forge root (../../forge from 40_config) is dir/forge.
    seedBareRepo(join(dir.path, 'forge'), 'example/greeter', join(root, 'examples', 'repos', 'greeter'));
    stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: root,
      portBase: await randomFreePortBase(),
      dashboard: true,
      env: { LOG_LEVEL: 'info', SCAN_INTERVAL_MS: '1000' },
      serviceEnv: { 'agent-runner': { SANDBOX: 'process' } },
    });
    await stack.start();
    url = stack.url('dashboard');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    dir?.remove();
  });

  it("shows the coder's transcript live, while the round still codes", async () => {
    await page.goto(`${url}/#/fr/FR-001`);
    const fold = page.locator('#work details[data-fold="FR-001:r1:transcript"]');
    await fold.locator('summary').waitFor({ timeout: 120_000 });
    // The transcript is saved as it grows (every 2 s at most): the fold can show before the first tool calls are in it.
    await expectEventually(
      async () => {
        const running = (await (await fetch(`${url}/api/sagas/FR-001/transcript/1`)).json()) as {
          running?: boolean;
          entries: Array<{ kind: string; name?: string }>;
        };
        expect(running.running).toBe(true);
        expect(running.entries.filter((e) => e.kind === 'tool').map((e) => e.name)).toContain('write_file');
      },
      { timeoutMs: 60_000, message: 'the live transcript with the first tool calls' },
    );
    await fold.locator('summary').click();
    await page.locator('#work .transcript').waitFor({ timeout: 15_000 });
    expect(await page.locator('#work .transcript > p.muted').textContent()).toContain('still coding');
    expect(((await (await fetch(`${stack.url('orchestrator')}/sagas/FR-001`)).json()) as { state: string }).state).toBe('coding');
    // Let the coder's command go on (the job's worktree is the only one).
    const worktrees = join(dir.path, 'run', 'work', 'agent-runner', 'worktrees');
    const [job] = readdirSync(worktrees);
    writeFileSync(join(worktrees, job!, '.release-live'), '');
  });

  it("shows FR-001's plan whole, its diff file by file, its tests, its review and the coder's transcript", async () => {
    await expectEventually(
      async () => expect(((await (await fetch(`${stack.url('orchestrator')}/sagas/FR-001`)).json()) as { state: string }).state).toBe('awaiting-merge'),
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    // A fresh page: the live one above kept the transcript fold open.
    await page.goto('about:blank');
    await page.goto(`${url}/#/fr/FR-001`);
    await page.locator('#work .round[data-round="1"]').waitFor({ timeout: 30_000 });
    // The PR as the forge records it, and the button that merges it.
    expect(await page.locator('#work h3', { hasText: 'Pull request' }).textContent()).toBe('Pull request #1: open');
    expect(await page.locator('#work .pr-meta code').allTextContents()).toEqual(['agency/FR-001-add-a-farewell-function', 'main']);
    // The detail's PR link leads to that PR in the page (the local forge's record is JSON), not to a JSON tab.
    const prLink = page.locator('#detail .links a.pr-link');
    expect(await prLink.getAttribute('href')).toBe('#work-pr');
    expect(await prLink.getAttribute('target')).toBeNull();
    await prLink.click();
    await expectEventually(async () =>
      expect(
        await page
          .locator('#work-pr')
          .evaluate((h) => h.getBoundingClientRect().top >= 0 && h.getBoundingClientRect().bottom <= h.ownerDocument.documentElement.clientHeight),
      ).toBe(true),
    );
    expect(page.url()).toBe(`${url}/#/fr/FR-001`);
    expect(await page.locator('#detail button[data-action="approve"]').textContent()).toBe('approve & merge');
    expect(await page.locator('#work .plan-summary').textContent()).toBe('Add farewell(name) and a test.');
    expect(await page.locator('#work .plan-steps li').count()).toBe(2);
    const files = page.locator('#work .round[data-round="1"] details[data-fold*=":r1:"] > summary code');
    expect(await files.allTextContents()).toEqual(expect.arrayContaining(['src/farewell.js', 'test/farewell.test.js']));
    await page.locator('#work details[data-fold="FR-001:r1:src/farewell.js"] > summary').click();
    await page.locator('#work details[data-fold="FR-001:r1:src/farewell.js"] pre.diff .add').first().waitFor();
    expect(await page.locator('#work details[data-fold="FR-001:r1:src/farewell.js"] pre.diff').textContent()).toContain('+export function farewell(name) {');
    expect(await page.locator('#work .round h4', { hasText: 'Tests:' }).textContent()).toMatch(/^Tests: passed · (\d+)\/\1 passed/);
    expect(await page.locator('#work .round h4', { hasText: 'Review:' }).textContent()).toMatch(/^Review: approve/);
    expect(await page.locator('#work .round p', { hasText: 'matches the FR' }).textContent()).toBe('farewell() matches the FR and is tested.');

    await page.locator('#work details[data-fold="FR-001:r1:transcript"] > summary').click();
    await page.locator('#work .transcript .turn.tool').first().waitFor({ timeout: 15_000 });
    const tools = await page.locator('#work .transcript .turn.tool > code').allTextContents();
    expect(tools).toEqual(['write_file', 'write_file', 'run_command', 'finish']);
    // The test run's output, as the coder saw it.
    expect(await page.locator('#work .transcript .turn.tool', { hasText: 'run_command' }).locator('pre.result').textContent()).toMatch(/pass 2|# pass/);
    expect(await page.locator('#work .transcript .turn.model').count()).toBeGreaterThan(0);
    // The opened diff's added lines are drawn in their colour.
    await checkedShot(page, join(SHOTS, '11-workbench-desktop.png'), 'workbench at a desktop width', [['added diff lines', COLOURS.diffAdd, 0]]);
  });

  it('fits a phone: nothing scrolls sideways at 390 px', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/#/fr/FR-001`);
    await page.locator('#work .round[data-round="1"]').waitFor({ timeout: 30_000 });
    const widths = await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]');
    const [scroll, inner] = widths as [number, number];
    expect(scroll, 'page width at 390 px').toBeLessThanOrEqual(inner);
    await checkedShot(page, join(SHOTS, '12-workbench-phone.png'), 'workbench at a phone width');
  });

  it('merges the PR from the page (approve at the merge gate), and the FR is done', async () => {
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.locator('#detail button[data-action="approve"]').click();
    await expectEventually(
      async () => expect(((await (await fetch(`${stack.url('orchestrator')}/sagas/FR-001`)).json()) as { state: string }).state).toBe('done'),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await expectEventually(async () => expect(await page.locator('#detail .detail-meta .badge').textContent()).toBe('done'), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await expectEventually(
      async () => expect(await page.locator('#work h3', { hasText: 'Pull request' }).textContent()).toMatch(/^Pull request #1: merged as [0-9a-f]{12}$/),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });
});
