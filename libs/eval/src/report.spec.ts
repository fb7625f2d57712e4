import { FailureCode } from './failure-code.js';
import { compareMarkdown, quantile, reportMarkdown, suiteFigures, TaskOutcome, type SuiteReport, type TaskResult } from './report.js';
import { roleOf, runFigures, type RunEvent } from './run-metrics.js';
import { patchFiles } from './scripted-answers.js';

const ev = (type: string, at: number, step: string, payload: Record<string, unknown> = {}, attempt = 1): RunEvent => ({
  type,
  sagaId: 's1',
  step,
  attempt,
  occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString(),
  payload,
});
const usage = (step: string, at: number, input: number, output: number, cost: number) =>
  ev('llm-gateway.usage', at, step, { inputTokens: input, cachedInputTokens: 2, outputTokens: output, costUsd: cost });

describe('runFigures', () => {
  it('adds usage per role, times each step from the result before it, counts review rounds and keeps the last tests', () => {
    const events = [
      ev('orchestrator.fr-state-changed', 0, 'route', { from: 'new', to: 'scoring' }),
      ev('router.scored', 1, 'route'),
      ev('agent-runner.planned', 4, 'plan'),
      usage('plan', 3, 100, 10, 0.001),
      usage('code-r1', 5, 200, 20, 0.002),
      usage('code-r1', 6, 300, 30, 0.003),
      ev('agent-runner.coded', 7, 'code-r1'),
      ev('agent-runner.tested', 9, 'test-r1', { passed: false, format: 'node-test', counts: { total: 3, failed: 1 } }),
      usage('review-r1', 10, 50, 5, 0.0005),
      ev('reviewer.reviewed', 11, 'review-r1'),
      ev('agent-runner.step-failed', 12, 'code-r2', { code: 'LLM_TIMEOUT', reason: 'slow' }, 1),
      ev('agent-runner.coded', 15, 'code-r2', {}, 2),
      ev('agent-runner.tested', 16, 'test-r2', { passed: true, format: 'unparsed', counts: { total: 0 } }),
      ev('reviewer.reviewed', 17, 'review-r2'),
      ev('git-service.pr-opened', 18, 'open-pr-r2'),
      // Two calls the gateway folded into one event.
      ev('llm-gateway.usage', 17, 'review-r2', { inputTokens: 20, cachedInputTokens: 0, outputTokens: 2, costUsd: 0.0002, calls: 2 }),
      { ...ev('llm-gateway.usage', 5, 'plan', { inputTokens: 999 }), sagaId: 'other' },
    ];
    const f = runFigures(events, 's1');
    expect(f.usage).toEqual({
      planner: { calls: 1, inputTokens: 100, cachedInputTokens: 2, outputTokens: 10, costUsd: 0.001 },
      coder: { calls: 2, inputTokens: 500, cachedInputTokens: 4, outputTokens: 50, costUsd: 0.005 },
      reviewer: { calls: 3, inputTokens: 70, cachedInputTokens: 2, outputTokens: 7, costUsd: 0.0007 },
    });
    expect(f.costUsd).toBeCloseTo(0.0067, 12);
    expect(f.steps).toEqual([
      { step: 'route', ms: 1000 },
      { step: 'plan', ms: 3000 },
      { step: 'code-r1', ms: 3000 },
      { step: 'test-r1', ms: 2000 },
      { step: 'review-r1', ms: 2000 },
      { step: 'code-r2', ms: 1000 },
      { step: 'code-r2#2', ms: 3000 },
      { step: 'test-r2', ms: 1000 },
      { step: 'review-r2', ms: 1000 },
      { step: 'open-pr-r2', ms: 1000 },
    ]);
    expect(f.reviewRounds).toBe(2);
    expect(f.prTests).toEqual({ passed: true, format: 'unparsed' });
    expect(f.timeToPrMs).toBe(18_000);
    expect(f.stepFailures).toEqual(['LLM_TIMEOUT: slow']);
  });

  it('maps steps to roles', () => {
    expect(['plan', 'code-r3-a2', 'review-r1', 'score', 'test-r1', 'other'].map(roleOf)).toEqual(['planner', 'coder', 'reviewer', 'router', 'tester', 'other']);
  });
});

const result = (task: string, outcome: TaskOutcome, cost: number, toPr?: number): TaskResult => ({
  task,
  title: task,
  outcome,
  reachedPr: toPr !== undefined,
  resolved: outcome === TaskOutcome.Resolved,
  wallMs: 1,
  ...(outcome === TaskOutcome.Invalid
    ? {}
    : {
        figures: {
          usage: { coder: { calls: 1, inputTokens: 10, cachedInputTokens: 0, outputTokens: 1, costUsd: cost } },
          costUsd: cost,
          steps: [],
          reviewRounds: 1,
          stepFailures: [],
          ...(toPr !== undefined ? { timeToPrMs: toPr } : {}),
        },
      }),
});

describe('suite figures and reports', () => {
  const tasks = [
    result('a', TaskOutcome.Resolved, 1, 10_000),
    result('b', TaskOutcome.Unresolved, 2, 30_000),
    result('c', TaskOutcome.NoPr, 3),
    result('d', TaskOutcome.Invalid, 0),
    result('e', TaskOutcome.Resolved, 2, 20_000),
  ];

  it('rates over valid tasks, costs per task and per resolved task, time to PR by nearest rank', () => {
    const f = suiteFigures(tasks);
    expect(f).toMatchObject({
      tasks: 5,
      valid: 4,
      reachedPr: 3,
      resolved: 2,
      resolvedRate: 0.5,
      costUsd: 8,
      costPerTaskUsd: 2,
      costPerResolvedUsd: 4,
      timeToPrMedianMs: 20_000,
      timeToPrP90Ms: 30_000,
    });
    expect(f.usage.coder).toMatchObject({ calls: 4, costUsd: 8 });
    expect(suiteFigures([result('x', TaskOutcome.NoPr, 1)]).costPerResolvedUsd).toBeUndefined();
    expect(quantile([], 0.5)).toBeUndefined();
    expect(quantile([5, 1, 3, 2, 4], 0.9)).toBe(5);
  });

  it('writes markdown tables, and two reports side by side', () => {
    const report = (answers: string, t: TaskResult[]): SuiteReport => ({
      suite: 's',
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T01:00:00Z',
      answers,
      machine: 'm',
      variants: [{ variant: {}, label: 'as configured', figures: suiteFigures(t), tasks: t }],
    });
    const md = reportMarkdown(report('oracle', tasks));
    expect(md).toContain('| as configured | 2 | 50% | 3 | 4/5 | $8.0000 | $2.0000 | $4.0000 | 20.0 s / 30.0 s |');
    expect(md).toContain('| a | resolved | yes | yes | – | 1 | coder 1× 10/0/1 | $1.0000 | 10.0 s | – |  |');
    const cmp = compareMarkdown(report('oracle', tasks), report('wrong', [result('a', TaskOutcome.Unresolved, 1, 5000)]), ['before', 'after']);
    expect(cmp).toContain('| as configured | 2/4 (50%) | 0/1 (0%) | $2.0000 | $1.0000 | $4.0000 | – | 20.0 s | 5.0 s |');
    expect(cmp).toContain('| a | resolved | unresolved | $1.0000 | $1.0000 |');
    expect(cmp).toContain('| d | invalid | – | – | – |');
  });
});

describe('several variants', () => {
  const variant = (tier: string, t: TaskResult[]) => ({ variant: { tier }, label: `tier ${tier}`, figures: suiteFigures(t), tasks: t });
  const report: SuiteReport = {
    suite: 's',
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T01:00:00Z',
    answers: 'models',
    machine: 'm',
    variants: [
      variant('small', [result('a', TaskOutcome.Resolved, 1, 10_000), { ...result('b', TaskOutcome.NoPr, 2), failureCode: FailureCode.BudgetExceeded }]),
      variant('large', [result('a', TaskOutcome.Resolved, 3, 20_000), result('b', TaskOutcome.Resolved, 4, 40_000)]),
    ],
  };

  it("puts each variant's figures in a row and the tasks side by side", () => {
    const md = reportMarkdown(report);
    expect(md).toContain('| tier small | 1 | 50% | 1 | 2/2 | $3.0000 | $1.5000 | $3.0000 | 10.0 s / 10.0 s |');
    expect(md).toContain('| tier large | 2 | 100% | 2 | 2/2 | $7.0000 | $3.5000 | $3.5000 | 20.0 s / 40.0 s |');
    expect(md).toContain('| task | tier small | tier large |');
    expect(md).toContain('| a | resolved, $1.0000, 10.0 s | resolved, $3.0000, 20.0 s |');
    expect(md).toContain('| b | no-pr BUDGET_EXCEEDED, $2.0000, – | resolved, $4.0000, 40.0 s |');
    expect(md).toContain('## tier small');
    expect(md).toContain('## tier large');
  });

  it("compares two reports variant by variant, every variant's tasks", () => {
    const after = {
      ...report,
      variants: [report.variants[1]!, report.variants[0]!].map((v, i) => ({ ...v, label: report.variants[i]!.label, variant: report.variants[i]!.variant })),
    };
    const cmp = compareMarkdown(report, after, ['before', 'after']);
    expect(cmp).toContain('| tier small | 1/2 (50%) | 2/2 (100%) | $1.5000 | $3.5000 | $3.0000 | $3.5000 | 10.0 s | 20.0 s |');
    expect(cmp).toContain('| tier large | 2/2 (100%) | 1/2 (50%) |');
    expect(cmp).toContain('| task | variant | before | after | cost before | cost after |');
    expect(cmp).toContain('| b | tier small | no-pr | resolved | $2.0000 | $4.0000 |');
    expect(cmp).toContain('| b | tier large | resolved | no-pr | $4.0000 | $2.0000 |');
  });
});

describe('patchFiles', () => {
  it('names the files a diff changes, creates and deletes', () => {
    const patch = ['--- a/src/x.js', '+++ b/src/x.js', '@@ -1 +1 @@', '--- /dev/null', '+++ b/test/new.js', '--- a/old.js\t2020', '+++ /dev/null'].join('\n');
    expect(patchFiles(patch)).toEqual(['src/x.js', 'test/new.js', 'old.js']);
  });
});
