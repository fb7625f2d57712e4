// The saga's states, its step names and the rules about them that more than one reader needs:
// the orchestrator's machine decides with them; the dashboard (its server and its page) and the
// CLI show them. No imports and no decorators: the dashboard's page loads this very module in
// the browser (through browser.ts), so it must stay plain constants and functions.

export const SAGA_STATES = [
  'discovered',
  'routed',
  'queued',
  'planning',
  'awaiting-plan-approval',
  'coding',
  'testing',
  'reviewing',
  'fixing',
  'opening-pr',
  'awaiting-merge',
  'done',
  'failed',
  'cancelled',
  'blocked',
] as const;
export type SagaState = (typeof SAGA_STATES)[number];

/** States a run never leaves by itself (only a person's retry starts a stopped one again). */
export const TERMINAL_SAGA_STATES: readonly SagaState[] = ['done', 'failed', 'cancelled', 'blocked'];

/** Terminal states short of the end: the job is killed, the PR closed; a retry resumes the run. */
export const STOPPED_SAGA_STATES: readonly SagaState[] = ['failed', 'blocked', 'cancelled'];

export function isTerminal(state: SagaState): boolean {
  return TERMINAL_SAGA_STATES.includes(state);
}

/** Stopped before the end: the job is killed, the PR closed. */
export function isStopped(state: SagaState): boolean {
  return STOPPED_SAGA_STATES.includes(state);
}

/** A gate where the run waits for a person: the plan, or the pull request. */
export type SagaGate = 'plan' | 'pr';

/** The gate a state holds open, if any. */
export function gateOf(state: SagaState): SagaGate | undefined {
  if (state === 'awaiting-plan-approval') return 'plan';
  if (state === 'awaiting-merge') return 'pr';
  return undefined;
}

/** What a person can do to a run (CLI, dashboard): POST /sagas/:frId/<action> of the orchestrator. */
export const SAGA_ACTIONS = ['approve', 'reject', 'cancel', 'retry'] as const;
export type SagaAction = (typeof SAGA_ACTIONS)[number];

/**
 * Which actions a state allows, as the orchestrator's machine decides them: approve and reject
 * at an open gate; cancel while the run is not over; retry once it stopped (failed, blocked or
 * cancelled). The machine's own spec holds it to this; it still refuses (409, with its reason)
 * what a stale page asks.
 */
export function allowedActions(state: SagaState): Record<SagaAction, boolean> {
  const gate = gateOf(state) !== undefined;
  return { approve: gate, reject: gate, cancel: !isTerminal(state), retry: isStopped(state) };
}

/** Where a run stands for a person: the agency works on it, it waits on a person, it ended well, or it stopped. */
export type SagaStage = 'running' | 'waiting' | 'done' | 'stopped';
export const SAGA_STAGES: readonly SagaStage[] = ['running', 'waiting', 'done', 'stopped'];

export function sagaStage(state: SagaState): SagaStage {
  if (gateOf(state)) return 'waiting';
  if (state === 'done') return 'done';
  if (isStopped(state)) return 'stopped';
  return 'running';
}

// Step names: an envelope's `step`, the key of a step's attempts in the saga record, the model
// cost per step (usage events carry the step of the call) and the artifact keys all use them.
export const ROUTE_STEP = 'route';
export const QUEUE_STEP = 'queue';
export const PLAN_STEP = 'plan';
export const PLAN_APPROVAL_STEP = 'plan-approval';
export const codeStep = (round: number): string => `code-r${round}`;
export const draftPrStep = (round: number): string => `pr-r${round}`;
export const testStep = (round: number): string => `test-r${round}`;
export const reviewStep = (round: number): string => `review-r${round}`;
export const openPrStep = (round: number): string => `open-pr-r${round}`;
export const mergeStep = (round: number): string => `merge-r${round}`;

/**
 * The step a state waits on in coding round `round`, as the orchestrator's transitions name it;
 * '' for a terminal state (it waits on nothing; the record keeps the step it ended in).
 */
export function stepOf(state: SagaState, round: number): string {
  switch (state) {
    case 'discovered':
      return ROUTE_STEP;
    case 'routed':
    case 'queued':
      return QUEUE_STEP;
    case 'planning':
      return PLAN_STEP;
    case 'awaiting-plan-approval':
      return PLAN_APPROVAL_STEP;
    case 'coding':
    case 'fixing':
      return codeStep(round);
    case 'testing':
      return testStep(round);
    case 'reviewing':
      return reviewStep(round);
    case 'opening-pr':
      return openPrStep(round);
    case 'awaiting-merge':
      return mergeStep(round);
    case 'done':
    case 'failed':
    case 'cancelled':
    case 'blocked':
      return '';
  }
}
