import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OpenAiError } from '../http/openai-error.js';
import { LlmGatewayConfig } from '../llm-gateway.config.js';

const callers = new WeakMap<object, string>();

/** The id of the key the request was authenticated with (set by ApiKeyGuard). */
export function apiKeyIdOf(request: object): string | undefined {
  return callers.get(request);
}

/**
 * `Authorization: Bearer <key>` against GATEWAY_API_KEYS. A missing or wrong key is a 401 in
 * OpenAI's format (the `openai` SDK raises AuthenticationError). Keys are never logged.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly config: LlmGatewayConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match) {
      throw OpenAiError.unauthorized('You did not provide an API key. Send it as "Authorization: Bearer <key>".', 'missing_api_key');
    }
    const id = this.config.GATEWAY_API_KEYS.verify(match[1]!);
    if (!id) throw OpenAiError.unauthorized('Incorrect API key provided.', 'invalid_api_key');
    callers.set(request, id);
    return true;
  }
}
