import { HttpException, PayloadTooLargeException } from '@nestjs/common';
import { UnknownModelError } from '../chat/chat.service.js';
import { ProviderError } from '../providers/llm-provider.js';
import { ConfigurationError } from '../providers/provider.registry.js';
import { OpenAiError } from './openai-error.js';
import { toOpenAiError } from './openai-exception.filter.js';

const view = (e: unknown) => {
  const o = toOpenAiError(e);
  return { status: o.getStatus(), ...o.body().error };
};

describe('toOpenAiError', () => {
  it('keeps an OpenAiError as it is', () => {
    const e = OpenAiError.invalidRequest("'model': must not be empty", 'model');
    expect(toOpenAiError(e)).toBe(e);
  });

  it('maps the gateway errors to OpenAI statuses and codes', () => {
    expect(view(new UnknownModelError('x', ['planner']))).toEqual({ status: 404, message: 'The model `x` does not exist; the gateway serves the aliases `planner`.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
    expect(view(new ProviderError('vendor down', 502, 'upstream_error', true))).toEqual({ status: 502, message: 'vendor down', type: 'server_error', param: null, code: 'upstream_error' });
    expect(view(new ProviderError('slow down', 429, 'rate_limited', true))).toMatchObject({ status: 429, type: 'rate_limit_error' });
    expect(view(new ConfigurationError('llm: is required'))).toMatchObject({ status: 500, type: 'server_error', code: 'gateway_misconfigured' });
  });

  it('maps framework errors (e.g. the body limit) by status', () => {
    expect(view(new PayloadTooLargeException('Request body is too large'))).toEqual({ status: 413, message: 'Request body is too large', type: 'invalid_request_error', param: null, code: 'request_too_large' });
    expect(view(new HttpException({ message: ['a', 'b'] }, 400))).toMatchObject({ status: 400, message: 'a; b' });
  });

  it('hides the details of an unexpected error', () => {
    expect(view(new TypeError('cannot read x of undefined'))).toEqual({ status: 500, message: 'The gateway failed to handle the request; its log has the details.', type: 'server_error', param: null, code: null });
  });
});
