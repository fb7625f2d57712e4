import type { SagaState } from '@agency/contracts';
import { openPrStep, USAGE_IDS_KEPT, ignore, type Decision, type EventOf, type Transition } from './decision.js';
import { matchesAttempt } from './guards.js';
import type { SagaRecord } from '../saga.model.js';

/** States in which spending more is still possible, so the budget is enforced. */
const BUDGETED = new Set<SagaState>(['discovered', 'routed', 'queued', 'planning', 'awaiting-plan-approval', 'coding', 'fixing', 'testing', 'reviewing']);

/** An automatic merge that did not happen (checks pending, conflict, rate limit) leaves the open PR to a person. */
function mergeNotDone(t: Transition, why: string): Decision {
  const r = t.record;
  if (!r.mergeRequested) return ignore(`merge failure without a merge request: ${why}`);
  return t.to('awaiting-merge', r.step, { mergeRequested: false }, { log: `automatic merge did not happen (${why}); the PR waits for a person` });
}

/** A step failed: retryable ones are tried again after a backoff, up to the limit; the rest end the run. */
export function onStepFailed(t: Transition, e: EventOf<'step-failed'>): Decision {
  const r = t.record;
  if (!matchesAttempt(r, e.env)) return ignore(`failure of ${e.env.step}#${e.env.attempt} is stale (saga at ${r.step}#${r.attempt})`);
  const p = e.env.payload;
  if (r.state === 'awaiting-merge') return mergeNotDone(t, `${p.code}: ${p.reason}`);
  if (r.budgetStop) {
    const reason = `${r.budgetStop}; the coder handed in no work (${p.code}: ${p.reason})`;
    return t.to('failed', r.step, { failure: { code: 'BUDGET_EXCEEDED', reason } }, { log: reason, reason: r.budgetStop });
  }
  if (p.retryable && t.tried < t.s.stepMaxAttempts) {
    // Backed off: what failed (a busy sandbox engine, a flaky upstream) gets time to recover; the sweeper sends it when due.
    const waitMs = Math.min(300_000, (t.s.retryBackoffMs ?? 0) * 2 ** (t.tried - 1));
    const due = waitMs > 0 ? new Date(t.s.now.getTime() + waitMs).toISOString() : undefined;
    return t.redrive(
      `${r.step} failed (${p.code}: ${p.reason}); retry ${t.tried + 1}/${t.s.stepMaxAttempts}${waitMs > 0 ? ` in ${Math.round(waitMs / 1000)} s` : ''}`,
      due,
    );
  }
  return t.to('failed', r.step, { failure: { code: p.code, reason: p.reason } }, { log: `${r.step} failed: ${p.code}: ${p.reason}`, reason: p.reason });
}

export function onDeadLettered(t: Transition, e: EventOf<'dead-lettered'>): Decision {
  const r = t.record;
  if (e.env.step !== r.step) return ignore(`dead letter of ${e.env.step} is stale (saga at ${r.step})`);
  const p = e.env.payload;
  const reason = `${p.originalSubject} was dead-lettered after ${p.deliveries} delivery(ies): ${p.reason}`;
  if (r.state === 'awaiting-merge') return mergeNotDone(t, reason);
  return t.to('blocked', r.step, { failure: { code: 'DEAD_LETTER', reason } }, { log: reason, reason: 'dead letter' });
}

/** From the sweeper: the step went quiet or ran past its deadline. */
export function onTimeout(t: Transition, e: EventOf<'timeout'>): Decision {
  const r = t.record;
  if (e.env.step !== r.step || e.env.attempt !== r.attempt) return ignore(`timeout of ${e.env.step}#${e.env.attempt} is stale`);
  if (t.tried < t.s.stepMaxAttempts)
    return t.redrive(`${r.step} ${e.reason}; re-driving (attempt ${r.attempt + 1}, try ${t.tried + 1}/${t.s.stepMaxAttempts})`);
  return t.to(
    'failed',
    r.step,
    { failure: { code: 'STEP_TIMEOUT', reason: `${r.step} ${e.reason} ${t.tried} time(s)` } },
    { log: `${r.step} ${e.reason}; giving up after ${t.tried} attempt(s)`, reason: 'timeout' },
  );
}

/**
 * The cost counted; a PR already open shows the new total (its description is rendered again), and
 * one being opened is marked so it is once opened: the last call's usage often arrives just after
 * its step's result, and the PR showed a cost short by that call (relay trials).
 */
function lateCost(t: Transition, counted: Partial<SagaRecord>): Decision {
  const r = t.record;
  if (r.state === 'awaiting-merge' && r.pr && !r.mergeRequested)
    return t.updateWith({ ...counted, prCostStale: false }, [{ kind: 'refresh-pr', round: r.round }]);
  if (r.state === 'opening-pr') return t.update({ ...counted, prCostStale: true });
  return t.update(counted);
}

/**
 * A model call's cost, counted once per usage event id whatever the redeliveries. Past the
 * tier's budget while work is still possible the run stops cleanly: a coder at work hands in
 * its checkpoints (the gateway refuses its calls), work already handed in becomes a draft PR,
 * and with nothing coded the run fails with BUDGET_EXCEEDED.
 */
export function onUsage(t: Transition, e: EventOf<'usage'>): Decision {
  const r = t.record;
  if (r.usageIds.includes(e.env.id)) return ignore(`usage event ${e.env.id} was counted already`);
  const costUsd = Math.round((r.costUsd + e.env.payload.costUsd) * 1e6) / 1e6;
  const counted = { costUsd, usageIds: [...r.usageIds, e.env.id].slice(-USAGE_IDS_KEPT) };
  const budget = r.strategy?.budgetUsd;
  if (budget === undefined || costUsd <= budget || !BUDGETED.has(r.state) || r.budgetStop) return lateCost(t, counted);
  const why = `budget of $${budget.toFixed(2)} exceeded ($${costUsd.toFixed(4)} spent)`;
  if (r.state === 'coding' || r.state === 'fixing') return t.update({ ...counted, budgetStop: why });
  if (r.workspace)
    return t.to('opening-pr', openPrStep(r.round), { ...counted, draftReason: why }, { log: `${why}: opening a draft PR with the work so far`, reason: why });
  return t.to('failed', r.step, { ...counted, failure: { code: 'BUDGET_EXCEEDED', reason: why } }, { log: why, reason: why });
}
