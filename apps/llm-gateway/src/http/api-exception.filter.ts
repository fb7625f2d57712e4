import { Catch, HttpException, Inject, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { BudgetExceededError, ModelNotAllowedError, UnknownModelError } from '../chat/chat-errors.js';
import { ProviderError } from '../providers/llm-provider.js';
import { ConfigurationError } from '../providers/provider.registry.js';
import { ApiError, codeOf, openAiTypeOf } from './api-error.js';

/** Everything under this prefix speaks a vendor's error format; /health and /metrics keep Nest's. */
export const API_PREFIX = '/v1/';
/** Anthropic's routes answer errors in Anthropic's format; the other /v1 routes in OpenAI's. */
export const ANTHROPIC_PREFIX = '/v1/messages';

function messageOf(e: HttpException): string {
  const r = e.getResponse();
  if (typeof r === 'string') return r;
  const m = (r as { message?: unknown }).message;
  return Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : e.message;
}

/** The gateway's HTTP error for anything a route can throw; unknown errors hide their details. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof UnknownModelError) return new ApiError(404, e.message, 'invalid_request_error', 'model_not_found', 'model');
  if (e instanceof ModelNotAllowedError) return new ApiError(403, e.message, 'permission_error', 'model_not_allowed', 'model', { 'x-should-retry': 'false' });
  // OpenAI's type for a used-up quota; retrying cannot help, so SDKs are told not to.
  if (e instanceof BudgetExceededError) return new ApiError(429, e.message, 'insufficient_quota', 'budget_exceeded', null, { 'x-should-retry': 'false' });
  if (e instanceof ProviderError) {
    const headers: Record<string, string> =
      e.retryAfterMs !== undefined && (e.status === 429 || e.status === 503) ? { 'retry-after': String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))) } : {};
    return new ApiError(e.status, e.message, openAiTypeOf(e.status), e.code, null, headers);
  }
  if (e instanceof ConfigurationError)
    return new ApiError(500, `the gateway's configuration is not usable: ${e.message}`, 'server_error', 'gateway_misconfigured');
  if (e instanceof HttpException) return new ApiError(e.getStatus(), messageOf(e), openAiTypeOf(e.getStatus()), codeOf(e.getStatus()));
  return new ApiError(500, 'The gateway failed to handle the request; its log has the details.', 'server_error');
}

export function isAnthropicRoute(url: string): boolean {
  return url === ANTHROPIC_PREFIX || url.startsWith(`${ANTHROPIC_PREFIX}/`) || url.startsWith(`${ANTHROPIC_PREFIX}?`);
}

/** The error body for the API the URL belongs to; a shared route (/v1/models) answers an Anthropic client (anthropic-version) in Anthropic's. */
export function errorBodyFor(url: string, error: ApiError, headers: Record<string, unknown> = {}): object {
  return isAnthropicRoute(url) || headers['anthropic-version'] !== undefined ? error.anthropicBody() : error.openAiBody();
}

/**
 * Turns every failure of an API route into the body the client's SDK expects, with the right
 * status, including the ones Fastify raises before a handler runs (body too large: 413,
 * malformed JSON: 400, unknown route: 404). Registered globally because those errors never reach
 * a controller-scoped filter.
 */
@Catch()
export class ApiExceptionFilter extends BaseExceptionFilter {
  constructor(@Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger) {
    super();
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    if (!request.url.startsWith(API_PREFIX)) return super.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = toApiError(exception);
    if (error.getStatus() >= 500) this.logger.error({ err: exception, status: error.getStatus() }, 'request failed');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    void reply
      .status(error.getStatus())
      .headers({ ...error.headers, 'content-type': 'application/json; charset=utf-8' })
      .send(errorBodyFor(request.url, error, request.headers));
  }
}
