import { APIError } from 'openai';
import type { StepFailedEvent } from '@agency/contracts';
import { isBudgetExhausted, LlmAnswerError, LlmCancelledError, LlmTimeoutError } from '@agency/llm-client';
import { UnsafePathError, WorkspaceTamperedError } from '../files/path-guard.js';
import { SandboxError } from '../sandbox/sandbox.js';

/** A handled failure of a step that the saga decides about (published as step-failed, never thrown to the transport). */
export class StepFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

const MAX_REASON = 10_000;

/** HTTP statuses of the gateway that retrying the same call cannot fix. */
function isRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && ![408, 409, 429].includes(status);
}

/**
 * The step-failed event for an error the saga should decide about, or undefined for an error
 * worth a redelivery (git, disk, network, a gateway that is down).
 */
export function stepFailureOf(error: unknown): StepFailedEvent | undefined {
  const failed = (code: string, reason: string, retryable = false): StepFailedEvent => ({ code, reason: reason.slice(0, MAX_REASON), retryable });
  if (error instanceof StepFailure) return failed(error.code, error.message, error.retryable);
  if (error instanceof LlmAnswerError) {
    // A model that still answered badly after its repair turns may answer well next time: the saga backs off and re-drives.
    const answer = error.answer.trim();
    return failed('LLM_ANSWER_INVALID', `${error.message}${answer ? `. The last answer began: ${answer.slice(0, 500)}` : ''}`, true);
  }
  if (error instanceof LlmTimeoutError) return failed('LLM_TIMEOUT', error.message, true);
  if (error instanceof LlmCancelledError) return failed('JOB_CANCELLED', error.message);
  if (error instanceof SandboxError && error.code === 'JOB_CANCELLED') return failed('JOB_CANCELLED', error.message);
  if (error instanceof UnsafePathError) return failed('UNSAFE_PATH', error.message);
  // A sandboxed command swapped or moved the job's worktree: trying again cannot help, and nothing on the host was touched.
  if (error instanceof WorkspaceTamperedError) return failed(error.code, error.message);
  if (isBudgetExhausted(error)) return failed('BUDGET_EXCEEDED', `the LLM gateway refused the call: ${(error as Error).message}`);
  if (error instanceof APIError && isRefusal(error.status))
    return failed('LLM_REQUEST_REJECTED', `the LLM gateway refused the call (HTTP ${error.status}): ${error.message}`);
  return undefined;
}
