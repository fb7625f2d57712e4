import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadSuite,
  runSuite,
  SCRIPTED_PRICES,
  ScriptedAnswers,
  scriptFor,
  TaskOutcome,
  type SuiteReport,
  type TaskResult,
  type Variant,
  type VariantReport,
} from '@agency/eval';
import { tempDir, type TempDir } from '@agency/testing';
import { twoStackBase } from './support/eval-ports.js';

const root = join(import.meta.dirname, '..', '..');
const suiteDir = join(root, 'e2e', 'fixtures', 'eval-suite');

/** The scripted provider's documented estimate: ceil(characters / 4) per text, a tool call's name and arguments each. */
const tokens = (text: string) => Math.ceil(text.length / 4);
type ScriptReply = { content?: string; tool_calls?: Array<{ name: string; arguments: Record<string, unknown> }> };
const outputTokens = (r: ScriptReply) =>
  tokens(r.content ?? '') + (r.tool_calls ?? []).reduce((s, c) => s + tokens(c.name) + tokens(JSON.stringify(c.arguments)), 0);

/** Output tokens per role the script must have produced: each reply once, in order. */
function expectedOutput(answers: ScriptedAnswers, task: string): Record<string, number> {
  const t = loadSuite(suiteDir).tasks.find((x) => x.name === task)!;
  const rules = scriptFor(answers, 'FR-001', t.spec.title, t.referencePatch).rules as Array<{
    match: { model: string };
    reply?: ScriptReply;
    replies?: ScriptReply[];
  }>;
  return Object.fromEntries(rules.map((r) => [r.match.model, (r.replies ?? [r.reply!]).reduce((s, x) => s + outputTokens(x), 0)]));
}

function expectCostsAdd(v: VariantReport, answers: ScriptedAnswers): void {
  const valid = v.tasks.filter((t) => t.outcome !== TaskOutcome.Invalid);
  for (const t of valid) {
    const usage = t.figures!.usage;
    expect(Object.fromEntries(Object.entries(usage).map(([role, u]) => [role, u.calls]))).toEqual({ planner: 1, coder: 2, reviewer: 1 });
    expect(Object.fromEntries(Object.entries(usage).map(([role, u]) => [role, u.outputTokens]))).toEqual(expectedOutput(answers, t.task));
    // The coder's second call resends its first prompt (and the tool round after it): the scripted
    // provider's simulated prompt cache reads that shared start, OpenAI's way: in 128-token steps,
    // and only from 1024 tokens on. slug-dashes' long FR makes its coder's first prompt longer than
    // that; greeter-shout's short one does not, so it reads nothing. The planner and the reviewer
    // are called once each: nothing to read.
    if (t.task === 'slug-dashes') {
      expect(usage.coder!.cachedInputTokens).toBeGreaterThanOrEqual(1024);
      expect(usage.coder!.cachedInputTokens % 128).toBe(0);
      expect(usage.coder!.cachedInputTokens).toBeLessThan(usage.coder!.inputTokens / 2);
    } else expect(usage.coder!.cachedInputTokens).toBe(0);
    expect(usage.planner!.cachedInputTokens).toBe(0);
    expect(usage.reviewer!.cachedInputTokens).toBe(0);
    for (const [role, u] of Object.entries(usage)) {
      const price = SCRIPTED_PRICES[`scripted/${role}` as keyof typeof SCRIPTED_PRICES];
      expect(u.inputTokens).toBeGreaterThan(0);
      const uncached = u.inputTokens - u.cachedInputTokens;
      expect(u.costUsd).toBeCloseTo(
        (uncached * price.input_per_mtok + u.cachedInputTokens * price.cached_input_per_mtok + u.outputTokens * price.output_per_mtok) / 1e6,
        9,
      );
    }
    // The orchestrator's own account of the run (it adds each usage event once) agrees to the
    // micro-dollar it keeps: it rounds its total to one after each call, and a call that read the
    // cache costs fractions of one (1,024 tokens at $0.3 per million: 307.2 µ$).
    const calls = Object.values(usage).reduce((s, u) => s + u.calls, 0);
    expect(Math.abs(t.figures!.costUsd - t.sagaCostUsd!)).toBeLessThanOrEqual(calls * 0.5e-6 + 1e-12);
    expect(t.figures!.costUsd).toBeGreaterThan(0);
  }
  const total = valid.reduce((s, t) => s + t.figures!.costUsd, 0);
  expect(v.figures.costUsd).toBeCloseTo(total, 9);
  expect(v.figures.costPerTaskUsd).toBeCloseTo(total / valid.length, 9);
  for (const role of ['planner', 'coder', 'reviewer']) {
    for (const kind of ['inputTokens', 'cachedInputTokens', 'outputTokens'] as const) {
      expect(v.figures.usage[role]![kind]).toBe(valid.reduce((s, t) => s + t.figures!.usage[role]![kind], 0));
    }
  }
}

function expectInvalidRefused(tasks: TaskResult[]): void {
  const invalid = tasks.find((t) => t.task === 'already-done')!;
  expect(invalid).toMatchObject({ outcome: TaskOutcome.Invalid, reachedPr: false, resolved: false });
  expect(invalid.hidden?.passed).toBe(true);
  expect(invalid.figures).toBeUndefined();
}

// The harness measures: the scripted oracle (the coder applies each task's reference solution)
// resolves every valid task, a scripted wrong answer none, with the same pipeline, stacks and
// hidden tests in Docker; costs and tokens add up to what the scripted model's estimate gives.
describe('agency eval: oracle 100%, wrong answer 0%', () => {
  let dir: TempDir;
  const run = async (answers: ScriptedAnswers, variants: Variant[] = [{}]): Promise<SuiteReport> =>
    (
      await runSuite({
        suiteDir,
        outDir: join(dir.path, answers),
        rootDir: root,
        configVault: join(root, 'examples', 'vault'),
        variants,
        answers,
        concurrency: 2,
        portBase: await twoStackBase(),
        timeoutMs: 240_000,
      })
    ).report;

  beforeAll(() => {
    dir = tempDir('agency-eval-e2e-');
  });
  afterAll(() => {
    if (process.env.KEEP_E2E_DIR) console.log(`eval e2e state kept in ${dir.path}`);
    else dir?.remove();
  });

  // Two variants (tiers small and large, as `--tiers small,large` gives): every task runs once per
  // variant, each on the tier it forces, and each variant's figures add up on their own.
  it('the oracle resolves every valid task in each of two variants and refuses the one whose hidden tests pass at the base', async () => {
    const r = await run(ScriptedAnswers.Oracle, [{ tier: 'small' }, { tier: 'large' }]);
    expect(r.variants.map((v) => v.label)).toEqual(['tier small', 'tier large']);
    for (const v of r.variants) {
      expect(v.figures).toMatchObject({ tasks: 3, valid: 2, reachedPr: 2, resolved: 2, resolvedRate: 1 });
      for (const t of v.tasks.filter((x) => x.outcome !== TaskOutcome.Invalid)) {
        expect(t).toMatchObject({
          outcome: TaskOutcome.Resolved,
          reachedPr: true,
          resolved: true,
          state: 'awaiting-merge',
          draft: false,
          tier: v.variant.tier,
        });
        expect(t.figures!.prTests).toMatchObject({ passed: true });
        expect(t.figures!.reviewRounds).toBe(1);
        expect(t.figures!.timeToPrMs).toBeGreaterThan(0);
        expect(t.figures!.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['plan', 'code-r1', 'test-r1', 'review-r1']));
      }
      expect(v.figures.costPerResolvedUsd).toBeCloseTo(v.figures.costUsd / 2, 9);
      expectInvalidRefused(v.tasks);
      expectCostsAdd(v, ScriptedAnswers.Oracle);
    }
    // Two result sets, not one counted twice: each variant's tasks ran on stacks of their own.
    const prs = r.variants.flatMap((v) => v.tasks.flatMap((t) => (t.prUrl ? [t.prUrl] : [])));
    expect(prs).toHaveLength(4);
    expect(existsSync(join(dir.path, 'oracle', 'runs', 'v1', 'slug-dashes'))).toBe(true);
    const md = readFileSync(join(dir.path, 'oracle', 'report.md'), 'utf8');
    expect(md).toMatch(/\| tier small \| 2 \| 100% \| 2 \| 2\/3 \|/);
    expect(md).toMatch(/\| tier large \| 2 \| 100% \| 2 \| 2\/3 \|/);
    expect(md).toContain('| task | tier small | tier large |');
    expect(md).toMatch(/^\| slug-dashes \| resolved, \$[\d.]+, [\d.]+ s \| resolved, \$[\d.]+, [\d.]+ s \|$/m);
  });

  it('a wrong answer reaches a PR on every valid task and resolves none', async () => {
    const r = await run(ScriptedAnswers.Wrong);
    const v = r.variants[0]!;
    expect(v.figures).toMatchObject({ tasks: 3, valid: 2, reachedPr: 2, resolved: 0, resolvedRate: 0 });
    expect(v.figures.costPerResolvedUsd).toBeUndefined();
    for (const t of v.tasks.filter((x) => x.outcome !== TaskOutcome.Invalid)) {
      expect(t).toMatchObject({ outcome: TaskOutcome.Unresolved, reachedPr: true, resolved: false });
      expect(t.hidden).toMatchObject({ passed: false, timedOut: false });
      expect(t.hidden!.exitCode).not.toBe(0);
    }
    expectInvalidRefused(v.tasks);
    expectCostsAdd(v, ScriptedAnswers.Wrong);
  });
});
