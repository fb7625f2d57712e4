/** An event of the audit stream as the harness reads it (the envelope's fields it needs). */
export interface RunEvent {
  type: string;
  sagaId: string;
  step: string;
  attempt: number;
  occurredAt: string;
  payload: Record<string, unknown>;
}

export interface RoleUsage {
  calls: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface StepTime {
  /** The step as the saga names it (`plan`, `code-r1`, `test-r1`, `review-r1`, `pr`...). */
  step: string;
  /** From the previous step's result (or the intake) to this step's result: queueing included. */
  ms: number;
}

export interface PrTests {
  passed: boolean;
  format: string;
  total?: number;
  failed?: number;
}

/** What the audit stream says about one run of an FR. */
export interface RunFigures {
  usage: Record<string, RoleUsage>;
  costUsd: number;
  steps: StepTime[];
  reviewRounds: number;
  /** The last test step's outcome on the PR's head. */
  prTests?: PrTests;
  /** From the intake's first event to the PR's last opening or update. */
  timeToPrMs?: number;
  /** The step failures seen, code first (`LLM_ANSWER_INVALID: ...`). */
  stepFailures: string[];
}

/** The role a model call served, from its step (`code-r2-a1` -> coder); the alias when the step says nothing. */
export function roleOf(step: string): string {
  const family = step.split('-')[0] ?? step;
  const roles: Record<string, string> = { plan: 'planner', code: 'coder', review: 'reviewer', score: 'router', test: 'tester' };
  return roles[family] ?? family;
}

/** Events that end a step: the time between two of them is the later step's wall time. */
const RESULTS = new Set([
  'router.scored',
  'registry.dispatched',
  'agent-runner.planned',
  'agent-runner.coded',
  'agent-runner.tested',
  'reviewer.reviewed',
  'git-service.pr-opened',
  'router.step-failed',
  'agent-runner.step-failed',
  'reviewer.step-failed',
  'git-service.step-failed',
]);

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function addUsage(usage: Record<string, RoleUsage>, e: RunEvent): void {
  const role = roleOf(e.step);
  const u = (usage[role] ??= { calls: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0 });
  // An event counts several calls when the gateway folded concurrent calls of one step together.
  u.calls += num(e.payload.calls) || 1;
  u.inputTokens += num(e.payload.inputTokens);
  u.cachedInputTokens += num(e.payload.cachedInputTokens);
  u.outputTokens += num(e.payload.outputTokens);
  u.costUsd += num(e.payload.costUsd);
}

function testsOf(p: Record<string, unknown>): PrTests {
  const counts = (p.counts ?? {}) as Record<string, unknown>;
  const format = typeof p.format === 'string' ? p.format : 'unparsed';
  return {
    passed: p.passed === true,
    format,
    ...(format !== 'unparsed' && typeof counts.total === 'number' ? { total: counts.total, failed: num(counts.failed) } : {}),
  };
}

/** Figures of one saga's run from the events of the audit stream (every service's, in any order). */
export function runFigures(events: RunEvent[], sagaId: string): RunFigures {
  const mine = events.filter((e) => e.sagaId === sagaId).sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
  const usage: Record<string, RoleUsage> = {};
  const steps: StepTime[] = [];
  const stepFailures: string[] = [];
  let reviewRounds = 0;
  let prTests: PrTests | undefined;
  let timeToPrMs: number | undefined;
  const start = mine.length > 0 ? Date.parse(mine[0]!.occurredAt) : 0;
  let last = start;
  for (const e of mine) {
    const at = Date.parse(e.occurredAt);
    if (e.type === 'llm-gateway.usage') addUsage(usage, e);
    if (e.type === 'reviewer.reviewed') reviewRounds += 1;
    if (e.type === 'agent-runner.tested') prTests = testsOf(e.payload);
    if (e.type.endsWith('.step-failed')) stepFailures.push(`${String(e.payload.code)}: ${String(e.payload.reason ?? '').slice(0, 300)}`);
    // A run may open a draft early and update it later: the PR as the run left it counts.
    if (e.type === 'git-service.pr-opened') timeToPrMs = at - start;
    if (RESULTS.has(e.type)) {
      steps.push({ step: e.attempt > 1 ? `${e.step}#${e.attempt}` : e.step, ms: at - last });
      last = at;
    }
  }
  const costUsd = Object.values(usage).reduce((s, u) => s + u.costUsd, 0);
  return { usage, costUsd, steps, reviewRounds, ...(prTests ? { prTests } : {}), ...(timeToPrMs !== undefined ? { timeToPrMs } : {}), stepFailures };
}
