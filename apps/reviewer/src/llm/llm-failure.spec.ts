import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { LlmAnswerError } from '@agency/llm-client';
import { classifyLlmFailure } from './llm-failure.js';

// Errors as the openai SDK builds them from the gateway's answers.
const gatewayError = (status: number, code: string, message: string) =>
  APIError.generate(status, { error: { code, message, type: 'x' } }, message, new Headers());

describe('classifyLlmFailure', () => {
  it('reports a spent budget as BUDGET_EXCEEDED, not as a rate limit to retry', () => {
    const failure = classifyLlmFailure(gatewayError(429, 'budget_exceeded', 'Budget exceeded: the budget of FR-1 is used up'));
    expect(failure).toMatchObject({ code: 'BUDGET_EXCEEDED', message: expect.stringContaining('the budget of FR-1 is used up') });
  });

  it('leaves a plain 429, a 5xx and a connection error to the transport to retry', () => {
    expect(classifyLlmFailure(gatewayError(429, 'rate_limit_exceeded', 'slow down'))).toBeUndefined();
    expect(classifyLlmFailure(gatewayError(502, 'upstream_error', 'bad gateway'))).toBeUndefined();
    expect(classifyLlmFailure(new Error('ECONNREFUSED'))).toBeUndefined();
  });

  it('reports a refused request and an unusable answer', () => {
    expect(classifyLlmFailure(gatewayError(404, 'model_not_found', 'no such model'))).toMatchObject({ code: 'LLM_REQUEST_REJECTED' });
    expect(classifyLlmFailure(new LlmAnswerError('not JSON', '{oops'))).toMatchObject({ code: 'LLM_ANSWER_INVALID', answer: '{oops' });
  });
});
