import { APIError } from 'openai';
import { isBudgetExhausted, LlmAnswerError, LlmTimeoutError } from '@agency/llm-client';

/** A model call that failed in a way the saga must hear about, rather than one to retry. */
export interface LlmFailure {
  code: 'LLM_ANSWER_INVALID' | 'LLM_REQUEST_REJECTED' | 'BUDGET_EXCEEDED' | 'LLM_TIMEOUT';
  message: string;
  /** Worth another try later (the saga backs off and re-drives the step). */
  retryable: boolean;
  /** The unusable answer, when the model gave one. */
  answer?: string;
}

/**
 * Sorts a failed model call the saga must hear about: an unusable answer after the client's
 * repair turns, or a call given up for silence (both retryable by the saga, with backoff), or a
 * request the gateway refuses (bad request, auth, unknown alias, budget: final). Connection
 * errors, 408/409/429 and 5xx are transient and yield undefined (the transport redelivers).
 */
export function classifyLlmFailure(error: unknown): LlmFailure | undefined {
  if (error instanceof LlmAnswerError) return { code: 'LLM_ANSWER_INVALID', message: error.message, answer: error.answer, retryable: true };
  if (error instanceof LlmTimeoutError) return { code: 'LLM_TIMEOUT', message: error.message, retryable: true };
  // The FR's budget is spent: the saga stops at it (the usage event got there first) and keeps the work.
  if (isBudgetExhausted(error)) return { code: 'BUDGET_EXCEEDED', message: `the LLM gateway refused the call: ${(error as Error).message}`, retryable: false };
  if (error instanceof APIError && typeof error.status === 'number' && error.status >= 400 && error.status < 500 && ![408, 409, 429].includes(error.status)) {
    return { code: 'LLM_REQUEST_REJECTED', message: `the LLM gateway refused the request (HTTP ${error.status}): ${error.message}`, retryable: false };
  }
  return undefined;
}
