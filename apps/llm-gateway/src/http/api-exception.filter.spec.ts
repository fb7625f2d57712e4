import { HttpException, PayloadTooLargeException } from '@nestjs/common';
import { BudgetExceededError, ModelNotAllowedError, UnknownModelError } from '../chat/chat-errors.js';
import { ProviderError } from '../providers/llm-provider.js';
import { ConfigurationError } from '../providers/provider.registry.js';
import { ApiError } from './api-error.js';
import { errorBodyFor, toApiError } from './api-exception.filter.js';

const view = (e: unknown) => {
  const o = toApiError(e);
  return { status: o.getStatus(), ...o.openAiBody().error };
};

describe('toApiError', () => {
  it('keeps an ApiError as it is', () => {
    const e = ApiError.invalidRequest("'model': must not be empty", 'model');
    expect(toApiError(e)).toBe(e);
  });

  it('maps the gateway errors to OpenAI statuses and codes', () => {
    expect(view(new UnknownModelError('x', ['planner']))).toEqual({
      status: 404,
      message: 'The model `x` does not exist; the gateway serves the aliases `planner`.',
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    expect(view(new ProviderError('vendor down', 502, 'upstream_error', true))).toEqual({
      status: 502,
      message: 'vendor down',
      type: 'server_error',
      param: null,
      code: 'upstream_error',
    });
    expect(view(new ProviderError('slow down', 429, 'rate_limited', true))).toMatchObject({ status: 429, type: 'rate_limit_error' });
    expect(view(new ConfigurationError('llm: is required'))).toMatchObject({ status: 500, type: 'server_error', code: 'gateway_misconfigured' });
  });

  it('maps framework errors (e.g. the body limit) by status', () => {
    expect(view(new PayloadTooLargeException('Request body is too large'))).toEqual({
      status: 413,
      message: 'Request body is too large',
      type: 'invalid_request_error',
      param: null,
      code: 'request_too_large',
    });
    expect(view(new HttpException({ message: ['a', 'b'] }, 400))).toMatchObject({ status: 400, message: 'a; b' });
  });

  it('hides the details of an unexpected error', () => {
    expect(view(new TypeError('cannot read x of undefined'))).toEqual({
      status: 500,
      message: 'The gateway failed to handle the request; its log has the details.',
      type: 'server_error',
      param: null,
      code: null,
    });
  });

  it('refuses budgets and models with statuses SDKs do not retry', () => {
    const budget = toApiError(new BudgetExceededError('fr', 'FR-1', 5.5, 5, 'llm.budgets.per_fr_usd'));
    expect(budget.getStatus()).toBe(429);
    expect(budget.openAiBody().error).toMatchObject({ type: 'insufficient_quota', code: 'budget_exceeded' });
    expect(budget.headers).toEqual({ 'x-should-retry': 'false' });
    const model = toApiError(new ModelNotAllowedError('tools', 'coder', ['planner']));
    expect(model.getStatus()).toBe(403);
    expect(model.anthropicBody()).toEqual({
      type: 'error',
      error: { type: 'permission_error', message: 'The API key "tools" may not use the model `coder`; it may use `planner`.' },
    });
  });

  it('passes a rate limit on with retry-after in seconds', () => {
    expect(toApiError(new ProviderError('slow down', 429, 'upstream_rate_limited', false, { retryAfterMs: 1500 })).headers).toEqual({ 'retry-after': '2' });
  });

  it("answers the Anthropic route in Anthropic's format and every other /v1 route in OpenAI's", () => {
    const e = toApiError(new UnknownModelError('x', ['planner']));
    expect(errorBodyFor('/v1/messages', e)).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'The model `x` does not exist; the gateway serves the aliases `planner`.' },
    });
    expect(errorBodyFor('/v1/messages?beta=true', e)).toMatchObject({ type: 'error' });
    expect(errorBodyFor('/v1/chat/completions', e)).toMatchObject({ error: { code: 'model_not_found' } });
  });
});
