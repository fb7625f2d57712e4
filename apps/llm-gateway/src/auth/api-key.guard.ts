import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/api-error.js';
import { KeyRing, type CallerKey } from './key-ring.js';

const callers = new WeakMap<object, CallerKey>();

/** The key the request was authenticated with (set by ApiKeyGuard). */
export function callerOf(request: object): CallerKey | undefined {
  return callers.get(request);
}

/** The presented secret: `Authorization: Bearer <key>` (OpenAI's SDK) or `x-api-key: <key>` (Anthropic's). */
export function presentedKey(headers: FastifyRequest['headers']): string | undefined {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  const auth = headers.authorization;
  if (!auth) return undefined;
  // The common exact form first; a regex only for unusual spacing or case.
  if (auth.startsWith('Bearer ') && auth.indexOf(' ', 7) < 0) return auth.length > 7 ? auth.slice(7) : undefined;
  return auth.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
}

/** Checks the key; a missing or wrong one is a 401 (AuthenticationError in both SDKs). Keys are never logged. */
export function authenticate(headers: FastifyRequest['headers'], keys: KeyRing): CallerKey {
  const secret = presentedKey(headers);
  if (!secret)
    throw ApiError.unauthorized('You did not provide an API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".', 'missing_api_key');
  const caller = keys.identify(secret);
  if (!caller) throw ApiError.unauthorized('Incorrect API key provided.', 'invalid_api_key');
  return caller;
}

/** Authenticates every /v1 route against the key ring (GATEWAY_API_KEYS and llm.keys). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly keys: KeyRing) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    callers.set(request, authenticate(request.headers, this.keys));
    return true;
  }
}
