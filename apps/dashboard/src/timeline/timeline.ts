import { isStopped, isTerminal, stepOf, type FrTimelineView, type SagaRecordView, type SagaState, type TimelineRowView } from '@agency/contracts';
import type { StepCost } from '../events/event-feed.service.js';

/**
 * One row per state the saga went through, from its transition history: when it started, how
 * long it took (until now for the current state), and the model cost of its step from the
 * gateway's usage events. A step seen twice (routed and queued share `queue`; a retried state)
 * carries its cost on its first row only, so the rows add up to the total.
 */
export function buildTimeline(saga: SagaRecordView, costs: ReadonlyMap<string, StepCost>, now: Date): FrTimelineView {
  const segments: { state: SagaState; at: string; endAt?: string; note?: string }[] = [];
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
  const rows: TimelineRowView[] = [];
  segments.forEach((seg, i) => {
    if (!resumesAfterStop(segments, i)) {
      if (seg.state === 'coding') round = 1;
      else if (seg.state === 'fixing') round += 1;
    }
    const step = stepOf(seg.state, Math.max(round, 1));
    const isLast = i === segments.length - 1;
    const terminal = isTerminal(seg.state);
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

/** A retry resumes a stopped run where it stopped, through routing and the queue: the same round goes on, no new one starts. */
function resumesAfterStop(segments: readonly { state: SagaState }[], i: number): boolean {
  for (let j = i - 1; j >= 0; j -= 1) {
    const state = segments[j]!.state;
    if (state !== 'discovered' && state !== 'routed' && state !== 'queued') return isStopped(state);
  }
  return false;
}
