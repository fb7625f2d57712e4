import type { SagaSummary } from '@agency/contracts';

/**
 * Why a task's run failed, in the harness's own terms: the pipeline's codes are many, free strings
 * and change with it, while two reports must count the same failures under the same names. The
 * pipeline's own code is kept beside it (TaskResult.pipelineCode).
 */
export enum FailureCode {
  /** The task's setup command failed at the base, before any run: the suite's task is broken. */
  SetupFailed = 'SETUP_FAILED',
  /** The harness could not prepare or run the task (its repository, Docker, a stack). */
  HarnessError = 'HARNESS_ERROR',
  /** The run did not settle within the task's time limit (the harness cancelled it). */
  Timeout = 'TIMEOUT',
  /** The run's budget ran out. */
  BudgetExceeded = 'BUDGET_EXCEEDED',
  /** A step timed out more often than the saga retries. */
  StepTimeout = 'STEP_TIMEOUT',
  /** The sandbox could not install the repository's dependencies (the repository's setup). */
  EnvSetupFailed = 'ENV_SETUP_FAILED',
  /** Routing or queueing failed. */
  RouteFailed = 'ROUTE_FAILED',
  PlanFailed = 'PLAN_FAILED',
  /** The coder's step failed: an empty change, its step limit, a repeated action, an invalid answer... */
  CodeFailed = 'CODE_FAILED',
  TestFailed = 'TEST_FAILED',
  /** The reviewer rejected the change (or its step failed). */
  ReviewFailed = 'REVIEW_FAILED',
  /** Opening the PR (or its draft) failed. */
  PrFailed = 'PR_FAILED',
  /** A person's gate refused the plan or the PR (the harness runs without gates: a configuration slip). */
  Rejected = 'REJECTED',
  Cancelled = 'CANCELLED',
  /** A message was dead-lettered: the run is blocked. */
  Blocked = 'BLOCKED',
  /** A failure the codes above do not name; the pipeline's code says more. */
  Other = 'OTHER',
}

/** Pipeline codes that say more than the step they happened in. */
const BY_PIPELINE_CODE: Record<string, FailureCode> = {
  BUDGET_EXCEEDED: FailureCode.BudgetExceeded,
  STEP_TIMEOUT: FailureCode.StepTimeout,
  ENV_SETUP_FAILED: FailureCode.EnvSetupFailed,
  ENV_SETUP_TIMEOUT: FailureCode.EnvSetupFailed,
  REVIEW_REJECTED: FailureCode.ReviewFailed,
  PLAN_REJECTED: FailureCode.Rejected,
  PR_REJECTED: FailureCode.Rejected,
  DEAD_LETTER: FailureCode.Blocked,
  CANCELLED: FailureCode.Cancelled,
  PR_CLOSED: FailureCode.Cancelled,
};

/** The step families of saga-rules' step names (`code-r2` -> code). */
const BY_STEP: Record<string, FailureCode> = {
  route: FailureCode.RouteFailed,
  queue: FailureCode.RouteFailed,
  plan: FailureCode.PlanFailed,
  code: FailureCode.CodeFailed,
  test: FailureCode.TestFailed,
  review: FailureCode.ReviewFailed,
  pr: FailureCode.PrFailed,
  open: FailureCode.PrFailed,
  merge: FailureCode.PrFailed,
};

export interface RunFailure {
  code: FailureCode;
  /** The pipeline's own code (`EMPTY_CHANGE`, `LLM_ANSWER_INVALID`...), when it gave one. */
  pipelineCode?: string;
}

/**
 * The failure of a settled run (undefined: it did not fail). `saga` undefined: it never settled.
 * The saga's `failure` reads `CODE: reason`; without one, the last step failure seen names it.
 */
export function runFailure(saga: SagaSummary | undefined, stepFailures: string[]): RunFailure | undefined {
  if (!saga) return { code: FailureCode.Timeout };
  if (!['failed', 'blocked', 'cancelled'].includes(saga.state)) return undefined;
  const pipelineCode = saga.failure?.match(/^([A-Z][A-Z0-9_]+):/)?.[1] ?? stepFailures.at(-1)?.match(/^([A-Z][A-Z0-9_]+):/)?.[1];
  const byCode = pipelineCode ? BY_PIPELINE_CODE[pipelineCode] : undefined;
  const byState = saga.state === 'blocked' ? FailureCode.Blocked : saga.state === 'cancelled' ? FailureCode.Cancelled : undefined;
  const code = byCode ?? byState ?? BY_STEP[saga.step.split('-')[0] ?? ''] ?? FailureCode.Other;
  return { code, ...(pipelineCode ? { pipelineCode } : {}) };
}
