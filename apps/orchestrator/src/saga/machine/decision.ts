import type {
  CodedEvent,
  DeadLetteredEvent,
  Envelope,
  FrScoredEvent,
  GateDecisionCommand,
  HeartbeatEvent,
  JobDispatchedEvent,
  JobQueuedEvent,
  LlmUsageEvent,
  PlannedEvent,
  PrClosedEvent,
  PrMergedEvent,
  PrOpenedEvent,
  PrReviewedEvent,
  ReviewedEvent,
  SagaState,
  StepFailedEvent,
  TestedEvent,
} from '@agency/contracts';
import { isStopped, isTerminal } from '@agency/contracts';
import { withIds, type Effect, type EffectSpec } from '../effects.js';
import type { SagaRecord } from '../saga.model.js';

/** Everything that can move a saga, as the handlers hand it over. */
export type SagaEvent =
  | { kind: 'scored'; env: Envelope<FrScoredEvent> }
  | { kind: 'queued'; env: Envelope<JobQueuedEvent> }
  | { kind: 'dispatched'; env: Envelope<JobDispatchedEvent> }
  | { kind: 'planned'; env: Envelope<PlannedEvent> }
  | { kind: 'coded'; env: Envelope<CodedEvent> }
  | { kind: 'tested'; env: Envelope<TestedEvent> }
  | { kind: 'reviewed'; env: Envelope<ReviewedEvent> }
  | { kind: 'pr-opened'; env: Envelope<PrOpenedEvent> }
  | { kind: 'pr-merged'; env: Envelope<PrMergedEvent> }
  | { kind: 'pr-closed'; env: Envelope<PrClosedEvent> }
  | { kind: 'pr-reviewed'; env: Envelope<PrReviewedEvent> }
  | { kind: 'step-failed'; env: Envelope<StepFailedEvent> }
  | { kind: 'dead-lettered'; env: Envelope<DeadLetteredEvent> }
  | { kind: 'approve' | 'reject'; env: Envelope<GateDecisionCommand> }
  | { kind: 'heartbeat'; env: Envelope<HeartbeatEvent> }
  | { kind: 'usage'; env: Envelope<LlmUsageEvent> }
  /** A person, through the CLI or the dashboard. */
  | {
      kind: 'cancel';
      env: { sagaId: string; step: string; attempt: number };
      by: string;
      reason: string;
      /** Cancel only if the saga is still in this state with its file here (a cancel decided from what the vault showed). */
      ifUnchanged?: { state: SagaState; frPath: string };
    }
  | { kind: 'retry'; env: { sagaId: string; step: string; attempt: number }; by: string }
  /** From the sweeper: the step went quiet (no result, no heartbeat) or ran past its deadline. */
  | { kind: 'timeout'; env: { sagaId: string; step: string; attempt: number }; reason: string };

export type EventOf<K extends SagaEvent['kind']> = Extract<SagaEvent, { kind: K }>;

export interface MachineSettings {
  now: Date;
  stepMaxAttempts: number;
  /** First wait before a retryable failure's next attempt; doubles per attempt (at most 5 minutes). 0: at once. */
  retryBackoffMs?: number;
  autoMergeAllowed: boolean;
  autoMergeMinConfidence: number;
  /** Keep the branch of a cancelled or rejected run on the forge (its PR is closed all the same). */
  keepBranches?: boolean;
}

export type Decision =
  /**
   * The next record (its outbox holds `effects`, still to be carried out). `superseded`: ids of
   * effects still waiting in the outbox that this move makes pointless (a backed-off retry of
   * the step left behind); they leave the outbox without being carried out.
   */
  | { kind: 'apply'; next: SagaRecord; effects: Effect[]; superseded?: string[] }
  /** Nothing changes; `stale` when the event belongs to a step or job the saga has left. */
  | { kind: 'ignore'; reason: string; stale: boolean };

export const ignore = (reason: string, stale = true): Decision => ({ kind: 'ignore', reason, stale });

/** Human review rounds ("changes requested" on the PR) the agency answers before it stops and waits. */
export const HUMAN_REVIEW_ROUNDS = 3;
/** Usage event ids kept per run for exactly-once accounting (far more than any run makes). */
export const USAGE_IDS_KEPT = 5000;

// Step names and the terminal/stopped rules are shared with the dashboard and the CLI (libs/contracts saga-rules.ts).
export { codeStep, draftPrStep, isStopped, isTerminal, mergeStep, openPrStep, QUEUE_STEP, reviewStep, testStep } from '@agency/contracts';

/** The agency's part is over: a person (or nobody) acts next, so the lap's job slot and worktree go. */
export function isOver(state: SagaState): boolean {
  return state === 'awaiting-merge' || isTerminal(state);
}

/** States whose step has a command to send. */
function sendsCommand(r: SagaRecord): boolean {
  if (r.state === 'awaiting-merge') return r.mergeRequested === true && r.pr !== undefined;
  return ['discovered', 'routed', 'planning', 'coding', 'fixing', 'testing', 'reviewing', 'opening-pr'].includes(r.state);
}

/** Freeing the lap's slot and worktree once the agency's part is over, and the forge's clean-up of a stopped run. */
function endOfWork(before: SagaRecord, next: SagaRecord, s: MachineSettings): EffectSpec[] {
  const specs: EffectSpec[] = [];
  if (isOver(next.state) && next.jobId && !before.released) {
    const stopped = isStopped(next.state);
    const outcome = next.state === 'cancelled' ? 'cancelled' : stopped ? 'failed' : 'succeeded';
    const reason = next.failure?.reason.slice(0, 2000);
    specs.push({ kind: 'complete-job', jobId: next.jobId, outcome, ...(reason ? { reason } : {}) });
    // Ending anywhere but at the PR (stopped, or merged by a person mid-round) stops what still runs for the job.
    specs.push({ kind: 'cleanup', jobId: next.jobId, reason: `saga ${next.state}`, cancel: next.state !== 'awaiting-merge' });
  }
  if (isStopped(next.state) && !isStopped(before.state)) {
    // A cancelled (or rejected) run's branch goes, unless kept by setting; a failed or blocked one keeps it for a retry to continue.
    const deleteBranch = next.state === 'cancelled' && !s.keepBranches;
    const why = next.failure ? `${next.state}: ${next.failure.reason}` : next.state;
    if (next.pr) specs.push({ kind: 'close-pr', number: next.pr.number, reason: why.slice(0, 5000), deleteBranch });
    else if (next.workspace) specs.push({ kind: 'close-branch', branch: next.workspace.branch, reason: why.slice(0, 5000), deleteBranch });
  }
  return specs;
}

interface MoveOptions {
  log?: string;
  /** Why, kept in the history (the dashboard's timeline shows it). */
  reason?: string;
  attempt?: number;
  /** Effects of this transition besides the standard ones (the draft PR, a fresh run's clean-up). */
  extra?: EffectSpec[];
  /** A backed-off retry: its command waits until then, and the step's clock starts then. */
  notBefore?: string;
  /** The step starts over in a new lap (a retry, a review round): its attempts count from here. */
  resumed?: boolean;
}

/**
 * Builds the decisions of one event on one record: the next record and the effects the move
 * implies (the FR file, the state event, the next step's command, the end of the lap's work,
 * the forge's clean-up), each with its id. Pending backed-off retries belong to the step left
 * behind: any move drops them.
 */
export class Transition {
  constructor(
    readonly record: SagaRecord,
    readonly s: MachineSettings,
  ) {}

  get at(): string {
    return this.s.now.toISOString();
  }

  /** To `to` at `step` (a state change, or the same state at a new step). */
  to(to: SagaState, step: string, patch: Partial<SagaRecord> = {}, o: MoveOptions = {}): Decision {
    const r = this.record;
    const seq = r.seq + 1;
    const history =
      to === r.state && !o.reason
        ? r.history
        : [...r.history, { at: this.at, from: r.state, to, ...(o.reason ? { reason: o.reason.slice(0, 500) } : {}) }].slice(-100);
    const { lastHeartbeatAt: _beat, ...rest } = r;
    // The attempt belongs to the step: a new step starts at 1, the same step keeps it unless told.
    const attempt = o.attempt ?? (step === r.step ? r.attempt : 1);
    const next: SagaRecord = {
      ...rest,
      ...patch,
      state: to,
      step,
      attempt,
      attemptBase: o.resumed || step !== r.step ? attempt : r.attemptBase,
      tries: { ...r.tries, [step]: Math.max(r.tries[step] ?? 0, attempt) },
      stepStartedAt: o.notBefore ?? this.at,
      updatedAt: this.at,
      history,
      seq,
    };
    const end = endOfWork(r, next, this.s);
    if (end.some((e) => e.kind === 'complete-job')) next.released = true;
    const specs: EffectSpec[] = [
      { kind: 'fr-file', ...(o.log ? { log: o.log } : {}) },
      ...(to !== r.state ? [{ kind: 'state-changed' as const, from: r.state, to }] : []),
      ...(sendsCommand(next) ? [{ kind: 'step' as const, step: next.step, attempt: next.attempt, ...(o.notBefore ? { notBefore: o.notBefore } : {}) }] : []),
      ...(o.extra ?? []),
      ...end,
    ];
    const effects = withIds(r.sagaId, seq, specs);
    const pending = (e: Effect) => e.kind === 'step' && e.notBefore !== undefined;
    next.outbox = [...r.outbox.filter((e) => !pending(e)), ...effects];
    const superseded = r.outbox.filter(pending).map((e) => e.id);
    return { kind: 'apply', next, effects, ...(superseded.length ? { superseded } : {}) };
  }

  /** An attempt of `step` no service has seen yet (they answer a repeated one from their records). */
  freshAttempt(step: string): number {
    return (this.record.tries[step] ?? 0) + 1;
  }

  /** How many times the current step was tried in this lap. */
  get tried(): number {
    return this.record.attempt - this.record.attemptBase + 1;
  }

  /** The same step again with the next attempt (a quiet step, a retryable failure). */
  redrive(log: string, notBefore?: string): Decision {
    const r = this.record;
    return this.to(r.state, r.step, {}, { log, attempt: r.attempt + 1, ...(notBefore ? { notBefore } : {}) });
  }

  /** Fields and effects without a move (a late cost that refreshes the open PR's description). */
  updateWith(patch: Partial<SagaRecord>, specs: EffectSpec[]): Decision {
    const r = this.record;
    const seq = r.seq + 1;
    const effects = withIds(r.sagaId, seq, specs);
    return { kind: 'apply', next: { ...r, ...patch, updatedAt: this.at, seq, outbox: [...r.outbox, ...effects] }, effects };
  }

  /** Fields only (heartbeat, cost, the draft PR's number): no move, no effect. */
  update(patch: Partial<SagaRecord>): Decision {
    return { kind: 'apply', next: { ...this.record, ...patch, updatedAt: this.at }, effects: [] };
  }
}
