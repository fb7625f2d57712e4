import { APIError } from 'openai';
import { isBudgetExhausted, LlmAnswerError } from '@agency/llm-client';

/** A model call that failed in a way the saga must hear about, rather than one to retry. */
export interface LlmFailure {
  code: 'LLM_ANSWER_INVALID' | 'LLM_REQUEST_REJECTED' | 'BUDGET_EXCEEDED';
  message: string;
  /** The unusable answer, when the model gave one. */
  answer?: string;
}

/**
 * Sorts a failed model call: an unusable answer (after the client's one repair) or a request
 * the gateway refuses (bad request, auth, unknown alias, budget) cannot pass by retrying and is
 * returned; timeouts, connection errors, 408/409/429 and 5xx are transient and yield undefined.
 */
export function classifyLlmFailure(error: unknown): LlmFailure | undefined {
  if (error instanceof LlmAnswerError) return { code: 'LLM_ANSWER_INVALID', message: error.message, answer: error.answer };
  // The FR's budget is spent: the saga stops at it (the usage event got there first) and keeps the work.
  if (isBudgetExhausted(error)) return { code: 'BUDGET_EXCEEDED', message: `the LLM gateway refused the call: ${(error as Error).message}` };
  if (error instanceof APIError && typeof error.status === 'number' && error.status >= 400 && error.status < 500 && ![408, 409, 429].includes(error.status)) {
    return { code: 'LLM_REQUEST_REJECTED', message: `the LLM gateway refused the request (HTTP ${error.status}): ${error.message}` };
  }
  return undefined;
}
