import { Catch, HttpException, Inject, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { UnknownModelError } from '../chat/chat.service.js';
import { ProviderError } from '../providers/llm-provider.js';
import { ConfigurationError } from '../providers/provider.registry.js';
import { OpenAiError, openAiCodeOf, openAiTypeOf } from './openai-error.js';

/** Everything under this prefix speaks OpenAI's error format; /health and /metrics keep Nest's. */
export const OPENAI_PREFIX = '/v1/';

function messageOf(e: HttpException): string {
  const r = e.getResponse();
  if (typeof r === 'string') return r;
  const m = (r as { message?: unknown }).message;
  return Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : e.message;
}

/** The OpenAI-format error for anything a route can throw; unknown errors hide their details. */
export function toOpenAiError(e: unknown): OpenAiError {
  if (e instanceof OpenAiError) return e;
  if (e instanceof UnknownModelError) return new OpenAiError(404, e.message, 'invalid_request_error', 'model_not_found', 'model');
  if (e instanceof ProviderError) return new OpenAiError(e.status, e.message, openAiTypeOf(e.status), e.code);
  if (e instanceof ConfigurationError) return new OpenAiError(500, `the gateway's configuration is not usable: ${e.message}`, 'server_error', 'gateway_misconfigured');
  if (e instanceof HttpException) return new OpenAiError(e.getStatus(), messageOf(e), openAiTypeOf(e.getStatus()), openAiCodeOf(e.getStatus()));
  return new OpenAiError(500, 'The gateway failed to handle the request; its log has the details.', 'server_error');
}

/**
 * Turns every failure of an OpenAI route into OpenAI's `{error: {message, type, param, code}}`
 * with the right status, including the ones Fastify raises before a handler runs (body too
 * large: 413, malformed JSON: 400, unknown route: 404). Registered globally because those
 * errors never reach a controller-scoped filter.
 */
@Catch()
export class OpenAiExceptionFilter extends BaseExceptionFilter {
  constructor(@Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger) {
    super();
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    if (!request.url.startsWith(OPENAI_PREFIX)) return super.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = toOpenAiError(exception);
    if (error.getStatus() >= 500) this.logger.error({ err: exception, status: error.getStatus() }, 'request failed');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    void reply.status(error.getStatus()).header('content-type', 'application/json; charset=utf-8').send(error.body());
  }
}
