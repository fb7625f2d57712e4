import type {
  CodedEvent, DeadLetteredEvent, Envelope, FrScoredEvent, GateDecisionCommand, HeartbeatEvent, JobDispatchedEvent, JobQueuedEvent,
  LlmUsageEvent, PlannedEvent, PrClosedEvent, PrMergedEvent, PrOpenedEvent, PrReviewedEvent, ReviewedEvent, ReviewFindingDto, SagaState,
  StepFailedEvent, TestedEvent,
} from '@agency/contracts';
import { TERMINAL_SAGA_STATES } from '@agency/contracts';
import type { SagaRecord } from './saga.model.js';

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

export interface MachineSettings {
  now: Date;
  stepMaxAttempts: number;
  /** First wait before a retryable failure's next attempt; doubles per attempt (at most 5 minutes). 0: at once. */
  retryBackoffMs?: number;
  autoMergeAllowed: boolean;
  autoMergeMinConfidence: number;
}

export type Decision =
  | { kind: 'transition'; next: SagaRecord; log?: string }
  /** Same state, updated fields (heartbeat, cost): no command, no FR move. */
  | { kind: 'update'; next: SagaRecord }
  | { kind: 'ignore'; reason: string; duplicate: boolean };

/** States in which spending more is still possible, so the budget is enforced. */
const BUDGETED = new Set<SagaState>(['discovered', 'routed', 'queued', 'planning', 'awaiting-plan-approval', 'coding', 'fixing', 'testing', 'reviewing']);
/** Human review rounds ("changes requested" on the PR) the agency answers before it stops and waits. */
export const HUMAN_REVIEW_ROUNDS = 3;

export const codeStep = (round: number) => `code-r${round}`;
export const draftPrStep = (round: number) => `pr-r${round}`;
export const testStep = (round: number) => `test-r${round}`;
export const reviewStep = (round: number) => `review-r${round}`;

export function isTerminal(state: SagaState): boolean {
  return TERMINAL_SAGA_STATES.includes(state);
}

function findingKey(f: ReviewFindingDto): string {
  return `${f.file}:${f.line ?? ''}:${f.message.trim().toLowerCase()}`;
}

/** The saga as a pure function: an event and the current record in, the next record out. */
export function decide(record: SagaRecord, event: SagaEvent, s: MachineSettings): Decision {
  const env = event.env;
  const at = s.now.toISOString();
  // A pending backed-off retry belongs to the step it was for: any move ends it.
  const { notBefore: _due, ...settled } = record;
  const move = (to: SagaState, step: string, patch: Partial<SagaRecord> = {}, log?: string, reason?: string): Decision => ({
    kind: 'transition',
    next: {
      ...settled,
      ...patch,
      state: to,
      step,
      // The attempt belongs to the step: a new step starts at 1, anything else keeps it (a retry adds one).
      attempt: step === record.step ? record.attempt : 1,
      stepStartedAt: at,
      updatedAt: at,
      history: [...record.history, { at, from: record.state, to, ...(reason ? { reason } : {}) }].slice(-100),
    },
    log,
  });
  const ignore = (reason: string, duplicate = false): Decision => ({ kind: 'ignore', reason, duplicate });

  if (event.kind === 'usage') {
    const costUsd = Math.round((record.costUsd + event.env.payload.costUsd) * 1e6) / 1e6;
    const budget = record.strategy?.budgetUsd;
    if (budget !== undefined && costUsd > budget && BUDGETED.has(record.state)) {
      // Stop cleanly: keep what was done as a draft PR, or fail when nothing was coded yet.
      const why = `budget of $${budget.toFixed(2)} exceeded ($${costUsd.toFixed(4)} spent)`;
      if (record.workspace) return move('opening-pr', 'open-pr', { costUsd, draftReason: why }, `${why}: opening a draft PR with the work so far`, why);
      // Round 1 has handed in nothing yet: the coder stops at the gateway's cap and hands in its checkpoints.
      if (record.state === 'coding') return { kind: 'update', next: { ...record, costUsd, budgetStop: record.budgetStop ?? why, updatedAt: at } };
      return move('failed', record.step, { costUsd, failure: { code: 'BUDGET_EXCEEDED', reason: why } }, why, why);
    }
    return { kind: 'update', next: { ...record, costUsd, updatedAt: at } };
  }
  if (event.kind === 'retry') {
    if (!['failed', 'blocked', 'cancelled'].includes(record.state)) return ignore(`${record.frId} is ${record.state}; only a failed, blocked or cancelled FR can be retried`);
    const resume = [...record.history].reverse().find((h) => h.to === record.state)?.from;
    if (!resume || isTerminal(resume)) return ignore(`${record.frId} has no step to resume; move its file back to 03_planned for a new run`);
    const { failure: _failure, lastHeartbeatAt: _beat, budgetStop: _stop, notBefore: _due, ...rest } = record;
    return {
      kind: 'transition',
      next: { ...rest, finished: false, state: resume, attempt: record.attempt + 1, stepStartedAt: at, updatedAt: at, history: [...record.history, { at, from: record.state, to: resume, reason: `retried by ${event.by}` }].slice(-100) },
      log: `retried by ${event.by}: resuming ${resume} at ${record.step} (attempt ${record.attempt + 1})`,
    };
  }
  if (isTerminal(record.state)) return ignore(`saga is ${record.state}`, true);
  if (event.kind === 'cancel') {
    const seen = event.ifUnchanged;
    if (seen && (seen.state !== record.state || seen.frPath !== record.frPath)) return ignore(`cancel by ${event.by} is stale: it was decided in ${seen.state} with the file at ${seen.frPath}`);
    return move('cancelled', record.step, { failure: { code: 'CANCELLED', reason: `cancelled by ${event.by}: ${event.reason}` } }, `cancelled by ${event.by}: ${event.reason}`, 'cancelled');
  }
  if (event.kind === 'timeout') {
    if (env.step !== record.step || env.attempt !== record.attempt) return ignore(`timeout of ${env.step}#${env.attempt} is stale`);
    if (record.attempt < s.stepMaxAttempts) {
      const { lastHeartbeatAt: _beat, ...rest } = settled;
      return { kind: 'transition', next: { ...rest, attempt: record.attempt + 1, stepStartedAt: at, updatedAt: at }, log: `${record.step} ${event.reason}; re-driving (attempt ${record.attempt + 1}/${s.stepMaxAttempts})` };
    }
    return move('failed', record.step, { failure: { code: 'STEP_TIMEOUT', reason: `${record.step} ${event.reason} ${record.attempt} time(s)` } }, `${record.step} ${event.reason}; giving up after ${record.attempt} attempt(s)`, 'timeout');
  }
  if (event.kind === 'heartbeat') {
    if (env.step !== record.step) return ignore(`heartbeat for ${env.step}, saga waits for ${record.step}`);
    return { kind: 'update', next: { ...record, lastHeartbeatAt: at, updatedAt: at } };
  }
  // A result of the step the saga waits on counts from any attempt up to the current one: after a
  // re-drive, the first attempt to finish wins and the later one is stale. Failures must match the
  // current attempt exactly (an old attempt failing says nothing about the new one).
  const stepMatches = env.step === record.step && env.attempt <= record.attempt;
  const exactAttempt = env.step === record.step && env.attempt === record.attempt;
  // An automatic merge that did not happen (checks pending, conflict, rate limit) leaves the open PR to a person.
  const mergeNotDone = (why: string): Decision =>
    record.mergeRequested ? move('awaiting-merge', record.step, { mergeRequested: false }, `automatic merge did not happen (${why}); the PR waits for a person`) : ignore(`merge failure without a merge request: ${why}`);
  const stale = (expected: SagaState[]) => ignore(`${event.kind} (step ${env.step}#${env.attempt}) does not apply in ${record.state} (step ${record.step}#${record.attempt}); expected ${expected.join('/')}`, !expected.includes(record.state) || !stepMatches);

  switch (event.kind) {
    case 'scored': {
      if (record.state !== 'discovered' || !stepMatches) return stale(['discovered']);
      const p = event.env.payload;
      return move('routed', 'queue', { score: p.score, strategy: p.strategy }, `routed: score ${p.score}, tier ${p.tier} (${p.reasons.map((r) => `${r.feature} ${r.points}`).join(', ')})`);
    }
    case 'queued':
      if (record.state !== 'routed' || env.step !== 'queue') return stale(['routed']);
      return move('queued', 'queue', { jobId: event.env.payload.jobId }, `queued as ${event.env.payload.jobId} (position ${event.env.payload.position})`);
    case 'dispatched':
      if ((record.state !== 'routed' && record.state !== 'queued') || record.step !== 'queue') return stale(['routed', 'queued']);
      return move('planning', 'plan', { jobId: event.env.payload.jobId }, `dispatched after ${Math.round(event.env.payload.waitedMs / 1000)} s in the queue; planning`);
    case 'planned': {
      if (record.state !== 'planning' || !stepMatches) return stale(['planning']);
      const patch = { plan: event.env.payload.plan, planSummary: event.env.payload.summary };
      if (record.strategy?.planApproval) return move('awaiting-plan-approval', 'plan-approval', patch, `plan ready, waiting for approval: ${event.env.payload.summary}`);
      return move('coding', codeStep(1), { ...patch, round: 1 }, `planned (${event.env.payload.stepCount} steps); coding`);
    }
    case 'approve':
    case 'reject': {
      const gate = event.env.payload.gate;
      if (gate === 'plan' && record.state === 'awaiting-plan-approval') {
        if (event.kind === 'reject') {
          return move('blocked', record.step, { failure: { code: 'PLAN_REJECTED', reason: `plan rejected by ${event.env.payload.by}${event.env.payload.comment ? `: ${event.env.payload.comment}` : ''}` } }, `plan rejected by ${event.env.payload.by}`, 'plan rejected');
        }
        return move('coding', codeStep(1), { round: 1 }, `plan approved by ${event.env.payload.by}; coding`);
      }
      if (gate === 'pr' && record.state === 'awaiting-merge' && record.pr) {
        if (event.kind === 'reject') return move('cancelled', record.step, {}, `PR rejected by ${event.env.payload.by}`, 'PR rejected');
        return move('awaiting-merge', 'merge', { mergeRequested: true }, `merge approved by ${event.env.payload.by}`);
      }
      return ignore(`no ${gate} gate is open in ${record.state}`);
    }
    case 'coded': {
      if ((record.state !== 'coding' && record.state !== 'fixing') || !stepMatches) return stale(['coding', 'fixing']);
      const p = event.env.payload;
      if (record.budgetStop) {
        return move('opening-pr', 'open-pr', { workspace: p.workspace, diff: p.diff, draftReason: record.budgetStop }, `${record.budgetStop}: opening a draft PR with the ${p.commits} commit(s) handed in`, record.budgetStop);
      }
      return move('testing', testStep(record.round), { workspace: p.workspace, diff: p.diff }, `round ${record.round}: ${p.commits} commit(s), ${p.filesChanged.length} file(s): ${p.summary}`);
    }
    case 'tested': {
      if (record.state !== 'testing' || !stepMatches) return stale(['testing']);
      const p = event.env.payload;
      const tests = { round: p.round, passed: p.passed, counts: p.counts, report: p.report, failureExcerpt: p.failureExcerpt };
      const verdict = p.timedOut ? 'timed out' : p.passed ? 'passed' : 'failed';
      return move('reviewing', reviewStep(record.round), { tests }, `round ${record.round}: tests ${verdict} (${p.counts.passed}/${p.counts.total} passed)`);
    }
    case 'reviewed': {
      if (record.state !== 'reviewing' || !stepMatches) return stale(['reviewing']);
      const p = event.env.payload;
      const blocking = p.findings.filter((f) => f.blocking).length;
      const reviews = [...record.reviews, { round: p.round, verdict: p.verdict, confidence: p.confidence, summary: p.summary, findings: p.findings.length, blocking }];
      const line = `round ${record.round}: review ${p.verdict} (confidence ${p.confidence.toFixed(2)}, ${p.findings.length} finding(s), ${blocking} blocking)`;
      if (p.verdict === 'approve') return move('opening-pr', 'open-pr', { reviews }, `${line}; opening the PR`);
      if (p.verdict === 'reject') {
        return move('blocked', record.step, { reviews, failure: { code: 'REVIEW_REJECTED', reason: p.summary } }, `${line}: ${p.summary}`, 'review rejected the change');
      }
      const known = new Set(record.lastFindings.map(findingKey));
      const fresh = p.findings.filter((f) => !known.has(findingKey(f)));
      const limit = record.strategy?.reviewRounds ?? 1;
      if (record.round < limit && fresh.length > 0) {
        const round = record.round + 1;
        return move('fixing', codeStep(round), { reviews, round, lastFindings: p.findings }, `${line}; fixing in round ${round}`);
      }
      const draftReason = fresh.length === 0 ? `round ${record.round} brought no new finding` : `review rounds exhausted (${limit})`;
      return move('opening-pr', 'open-pr', { reviews, lastFindings: p.findings, draftReason }, `${line}; ${draftReason}: opening a draft PR for a human`);
    }
    case 'pr-opened': {
      const p = event.env.payload;
      if (env.step.startsWith('pr-r')) {
        // The draft PR a round pushed: remembered, not a transition.
        return { kind: 'update', next: { ...record, pr: { number: p.number, url: p.url, draft: p.draft }, updatedAt: at } };
      }
      if (record.state !== 'opening-pr' || !stepMatches) return stale(['opening-pr']);
      const lastReview = record.reviews.at(-1);
      const autoMerge =
        s.autoMergeAllowed && !!record.strategy?.autoMerge && !p.draft && !!record.tests?.passed && lastReview?.verdict === 'approve' && lastReview.confidence >= s.autoMergeMinConfidence;
      return move('awaiting-merge', 'merge', { pr: { number: p.number, url: p.url, draft: p.draft }, mergeRequested: autoMerge }, `PR ${p.created ? 'opened' : 'updated'}: ${p.url}${p.draft ? ' (draft)' : ''}${autoMerge ? '; auto-merging' : '; waiting for a human to merge'}`);
    }
    case 'pr-merged':
      if (record.state !== 'awaiting-merge') return stale(['awaiting-merge']);
      return move('done', record.step, {}, `PR merged (${event.env.payload.mergeSha.slice(0, 12)}): ${event.env.payload.url}`);
    case 'pr-closed':
      if (record.state !== 'awaiting-merge') return stale(['awaiting-merge']);
      return move('cancelled', record.step, {}, `PR closed without merging: ${event.env.payload.url}`, 'PR closed');
    case 'pr-reviewed': {
      const p = event.env.payload;
      if (record.state !== 'awaiting-merge') return ignore(`a PR review by ${p.author} while ${record.state} is only logged`);
      if (p.state !== 'changes_requested') return { kind: 'update', next: { ...record, updatedAt: at } };
      const humanRounds = (record.humanRounds ?? 0) + 1;
      if (humanRounds > HUMAN_REVIEW_ROUNDS) return ignore(`${p.author} requested changes again; after ${HUMAN_REVIEW_ROUNDS} human rounds the agency leaves it to people`);
      const round = record.round + 1;
      const finding = { file: '', severity: 'major' as const, message: `${p.author} requested changes on the PR: ${p.body}`.slice(0, 5000), blocking: true };
      return move('fixing', codeStep(round), { round, humanRounds, lastFindings: [finding], mergeRequested: false, draftReason: undefined, finished: false }, `${p.author} requested changes on the PR; fixing in round ${round}`, 'changes requested on the PR');
    }
    case 'step-failed': {
      if (!exactAttempt) return ignore(`failure of ${env.step}#${env.attempt} is stale (saga at ${record.step}#${record.attempt})`, true);
      const p = event.env.payload;
      if (record.state === 'awaiting-merge') return mergeNotDone(`${p.code}: ${p.reason}`);
      if (record.budgetStop) {
        const reason = `${record.budgetStop}; the coder handed in no work (${p.code}: ${p.reason})`;
        return move('failed', record.step, { failure: { code: 'BUDGET_EXCEEDED', reason } }, reason, record.budgetStop);
      }
      if (p.retryable && record.attempt < s.stepMaxAttempts) {
        // Backed off: what failed (a busy sandbox engine, a flaky upstream) gets time to recover. The sweeper sends it when due.
        const waitMs = Math.min(300_000, (s.retryBackoffMs ?? 0) * 2 ** (record.attempt - 1));
        const due = new Date(s.now.getTime() + waitMs).toISOString();
        const { lastHeartbeatAt: _beat, ...rest } = record;
        return {
          kind: 'transition',
          next: { ...rest, attempt: record.attempt + 1, stepStartedAt: due, ...(waitMs > 0 ? { notBefore: due } : {}), updatedAt: at },
          log: `${record.step} failed (${p.code}: ${p.reason}); retry ${record.attempt + 1}/${s.stepMaxAttempts}${waitMs > 0 ? ` in ${Math.round(waitMs / 1000)} s` : ''}`,
        };
      }
      return move('failed', record.step, { failure: { code: p.code, reason: p.reason } }, `${record.step} failed: ${p.code}: ${p.reason}`, p.reason);
    }
    case 'dead-lettered': {
      if (env.step !== record.step) return ignore(`dead letter of ${env.step} is stale (saga at ${record.step})`, true);
      const p = event.env.payload;
      const reason = `${p.originalSubject} was dead-lettered after ${p.deliveries} delivery(ies): ${p.reason}`;
      if (record.state === 'awaiting-merge') return mergeNotDone(reason);
      return move('blocked', record.step, { failure: { code: 'DEAD_LETTER', reason } }, reason, 'dead letter');
    }
  }
}
