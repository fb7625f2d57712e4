import type { StepCost } from '../events/event-feed.service.js';

/** The parts of the orchestrator's saga record (GET /sagas/:frId) the dashboard reads. */
export interface SagaView {
  sagaId: string;
  frId: string;
  run: number;
  state: string;
  step: string;
  attempt: number;
  round: number;
  fr: { title: string; priority?: string; repo?: string };
  traceId: string;
  jobId?: string;
  score?: number;
  strategy?: { tier: string };
  pr?: { number: number; url: string; draft: boolean };
  costUsd: number;
  failure?: { code: string; reason: string };
  draftReason?: string;
  planSummary?: string;
  history: { at: string; from: string; to: string; reason?: string }[];
  createdAt: string;
  updatedAt: string;
}

export interface TimelineRow {
  state: string;
  /** The step the saga waited on in this state (as in envelopes: plan, code-r1, test-r1...). */
  step: string;
  startedAt: string;
  endedAt?: string;
  durationMs: number;
  /** The saga is in this state now. */
  current: boolean;
  costUsd: number;
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** Why the saga left this state, when the transition said. */
  note?: string;
}

export interface Timeline {
  rows: TimelineRow[];
  /** Model cost of steps no row stands for (e.g. older than the kept history). */
  otherCostUsd: number;
}

export const TERMINAL_STATES = new Set(['done', 'failed', 'cancelled', 'blocked']);
const RESUMED_FROM = new Set(['failed', 'blocked', 'cancelled']);

/** The step each state waits on, as the orchestrator names it (saga.machine.ts). */
export function stepOf(state: string, round: number): string {
  switch (state) {
    case 'discovered':
      return 'route';
    case 'routed':
    case 'queued':
      return 'queue';
    case 'planning':
      return 'plan';
    case 'awaiting-plan-approval':
      return 'plan-approval';
    case 'coding':
    case 'fixing':
      return `code-r${round}`;
    case 'testing':
      return `test-r${round}`;
    case 'reviewing':
      return `review-r${round}`;
    case 'opening-pr':
      return 'open-pr';
    case 'awaiting-merge':
      return 'merge';
    default:
      return '';
  }
}

/**
 * One row per state the saga went through, from its transition history: when it started, how
 * long it took (until now for the current state), and the model cost of its step from the
 * gateway's usage events. A step seen twice (routed and queued share `queue`; a retried state)
 * carries its cost on its first row only, so the rows add up to the total.
 */
export function buildTimeline(saga: SagaView, costs: ReadonlyMap<string, StepCost>, now: Date): Timeline {
  const segments: { state: string; at: string; endAt?: string; note?: string }[] = [];
  const history = saga.history ?? [];
  segments.push({ state: history[0]?.from ?? saga.state, at: saga.createdAt });
  for (const h of history) {
    const last = segments[segments.length - 1]!;
    last.endAt = h.at;
    if (h.reason) last.note = h.reason;
    segments.push({ state: h.to, at: h.at });
  }
  let round = 0;
  const used = new Set<string>();
  const rows: TimelineRow[] = [];
  segments.forEach((seg, i) => {
    const from = i > 0 ? segments[i - 1]!.state : '';
    if (!RESUMED_FROM.has(from)) {
      if (seg.state === 'coding') round = 1;
      else if (seg.state === 'fixing') round += 1;
    }
    const step = stepOf(seg.state, Math.max(round, 1));
    const isLast = i === segments.length - 1;
    const terminal = TERMINAL_STATES.has(seg.state);
    const end = seg.endAt ?? (terminal ? seg.at : now.toISOString());
    const cost = step && !used.has(step) ? costs.get(step) : undefined;
    if (step) used.add(step);
    rows.push({
      state: seg.state,
      step,
      startedAt: seg.at,
      ...(seg.endAt ? { endedAt: seg.endAt } : {}),
      durationMs: Math.max(0, Date.parse(end) - Date.parse(seg.at)),
      current: isLast && !terminal,
      costUsd: cost?.costUsd ?? 0,
      modelCalls: cost?.calls ?? 0,
      inputTokens: cost?.inputTokens ?? 0,
      outputTokens: cost?.outputTokens ?? 0,
      ...(seg.note ? { note: seg.note } : {}),
    });
  });
  let otherCostUsd = 0;
  for (const [step, c] of costs) if (!used.has(step)) otherCostUsd += c.costUsd;
  return { rows, otherCostUsd };
}
