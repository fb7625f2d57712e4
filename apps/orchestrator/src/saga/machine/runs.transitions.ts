import type { SagaState } from '@agency/contracts';
import { withIds, type Effect, type EffectSpec } from '../effects.js';
import { jobIdOf, type ResumePoint, type SagaRecord } from '../saga.model.js';
import { ignore, isStopped, isTerminal, openPrStep, QUEUE_STEP, type Decision, type EventOf, type Transition } from './decision.js';

/**
 * The effects a new run starts with: its FR file taken, the route command, and, when an earlier
 * run of the FR left a PR or a branch on the forge, their clean-up (a fresh run starts from the
 * base: its branch replaces the earlier one, its PR is a new one).
 */
export function startEffects(record: SagaRecord, earlier: SagaRecord | undefined, log: string): Effect[] {
  const specs: EffectSpec[] = [
    { kind: 'fr-file', log },
    { kind: 'step', step: record.step, attempt: record.attempt },
  ];
  if (earlier?.pr && earlier.state !== 'done')
    specs.push({ kind: 'close-pr', number: earlier.pr.number, reason: `replaced by a fresh run of ${record.frId} (${record.sagaId})`, deleteBranch: true });
  else if (earlier?.workspace)
    specs.push({
      kind: 'close-branch',
      branch: earlier.workspace.branch,
      reason: `replaced by a fresh run of ${record.frId} (${record.sagaId})`,
      deleteBranch: true,
    });
  return withIds(record.sagaId, record.seq, specs);
}

export function onCancel(t: Transition, e: EventOf<'cancel'>): Decision {
  const r = t.record;
  const seen = e.ifUnchanged;
  if (seen && (seen.state !== r.state || seen.frPath !== r.frPath))
    return ignore(`cancel by ${e.by} is stale: it was decided in ${seen.state} with the file at ${seen.frPath}`);
  const reason = `cancelled by ${e.by}: ${e.reason}`;
  return t.to('cancelled', r.step, { failure: { code: 'CANCELLED', reason } }, { log: reason, reason: 'cancelled' });
}

/** Where a stopped run picks up again: the step that stopped it, or the nearest one that can start again. */
function resumePoint(t: Transition, stoppedIn: SagaState): ResumePoint | undefined {
  const r = t.record;
  if (r.resume) return { ...r.resume, attempt: t.freshAttempt(r.resume.step) };
  const at = (state: SagaState, step: string): ResumePoint => ({ state, step, attempt: t.freshAttempt(step), round: r.round });
  switch (stoppedIn) {
    case 'discovered':
    case 'routed':
    case 'queued':
      return undefined;
    case 'awaiting-plan-approval':
      // A rejected plan is planned again, not shown again.
      return at('planning', 'plan');
    case 'awaiting-merge':
      // The stop closed the PR: the run opens it again with the same work.
      return at('opening-pr', openPrStep(r.round));
    default:
      return at(stoppedIn, r.step);
  }
}

/**
 * Resumes a failed, blocked or cancelled run at the step that stopped it, as a new lap: a job of
 * its own (a slot, a worktree, never the earlier job's cancellation), the next attempt of the
 * step, the run's branch continued and a new PR if the stop closed the old one.
 */
export function onRetry(t: Transition, e: EventOf<'retry'>): Decision {
  const r = t.record;
  if (!isStopped(r.state)) return ignore(`${r.frId} is ${r.state}; only a failed, blocked or cancelled FR can be retried`, false);
  const stoppedIn = [...r.history].reverse().find((h) => h.to === r.state)?.from;
  if (!stoppedIn || isTerminal(stoppedIn)) return ignore(`${r.frId} has no step to resume; move its file back to 03_planned for a new run`, false);
  const cleared = {
    failure: undefined,
    budgetStop: undefined,
    stopped: undefined,
    mergeRequested: false,
    pr: undefined,
    draftReason: r.state === 'cancelled' ? r.draftReason : undefined,
  };
  const log = `retried by ${e.by}`;
  if (stoppedIn === 'discovered')
    return t.to('discovered', 'route', cleared, { attempt: t.freshAttempt('route'), resumed: true, log: `${log}: routing again`, reason: log });
  const lap = r.lap + 1;
  const resume = resumePoint(t, stoppedIn);
  return t.to(
    'routed',
    QUEUE_STEP,
    { ...cleared, lap, jobId: jobIdOf(r.sagaId, lap), released: false, resume },
    {
      attempt: t.freshAttempt(QUEUE_STEP),
      resumed: true,
      log: `${log}: ${resume ? `resuming ${resume.state} at ${resume.step} once job ${jobIdOf(r.sagaId, lap)} has a slot` : `queueing job ${jobIdOf(r.sagaId, lap)}`}`,
      reason: log,
    },
  );
}
