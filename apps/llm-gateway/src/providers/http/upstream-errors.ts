import { isRecord } from '../../common/shape.js';
import { ProviderError } from '../llm-provider.js';
import { TransportError } from './http.transport.js';

/**
 * The retry-after a vendor asked for, in ms: `retry-after-ms` (OpenAI), else `retry-after` as
 * seconds or as an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Readonly<Record<string, string | undefined>>, nowMs: number): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers['retry-after']?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The message of a vendor's error body (both OpenAI and Anthropic use `error.message`), or its start. */
export function vendorMessage(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: quote the text itself
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat || '(empty body)';
}

/**
 * Turns a vendor's error status into what the gateway does and answers:
 * - 429: retried (honouring retry-after), then the next target; 429 to the client if all fail.
 * - 408, 409, 5xx, 529: retried, then the next target; 502 (or 504 for 408) to the client.
 * - 401, 403, 404: the gateway's own vendor key or model name is wrong: no retry, next target, 502.
 * - other 4xx: the request itself is at fault (e.g. too long for the model): answered as 400 (413 stays 413).
 */
export function statusError(
  provider: string,
  status: number,
  body: Buffer,
  headers: Readonly<Record<string, string | undefined>>,
  nowMs: number,
): ProviderError {
  const said = vendorMessage(body);
  const after = retryAfterMs(headers, nowMs);
  const prefix = `provider "${provider}" answered ${status}`;
  if (status === 429) return new ProviderError(`${prefix} (rate limited): ${said}`, 429, 'upstream_rate_limited', true, { retryAfterMs: after });
  if (status === 408) return new ProviderError(`${prefix} (timeout): ${said}`, 504, 'upstream_timeout', true, { retryAfterMs: after });
  if (status === 529 || status === 503) return new ProviderError(`${prefix} (overloaded): ${said}`, 502, 'upstream_overloaded', true, { retryAfterMs: after });
  if (status === 409 || status >= 500) return new ProviderError(`${prefix}: ${said}`, 502, 'upstream_error', true, { retryAfterMs: after });
  if (status === 401 || status === 403) {
    return new ProviderError(
      `${prefix}: the gateway's key for this provider was refused (${said}); check its api_key_env`,
      502,
      'upstream_auth_failed',
      false,
      { disposition: 'fallback' },
    );
  }
  if (status === 404)
    return new ProviderError(`${prefix} (not found): ${said}; check the model name and base_url in llm.models`, 502, 'upstream_not_found', false, {
      disposition: 'fallback',
    });
  if (status >= 400) return new ProviderError(`${prefix}: ${said}`, status === 413 ? 413 : 400, 'upstream_rejected', false);
  return new ProviderError(`${prefix}, which the gateway does not expect: ${said}`, 502, 'upstream_error', false, { disposition: 'fallback' });
}

/** A connection-level failure: retryable (connect, timeout, broken connection) unless cancelled. */
export function transportError(provider: string, error: TransportError): ProviderError {
  switch (error.kind) {
    case 'connect':
      return new ProviderError(`provider "${provider}": ${error.message}`, 502, 'upstream_unreachable', true);
    case 'timeout':
      return new ProviderError(`provider "${provider}": ${error.message}`, 504, 'upstream_timeout', true);
    case 'idle-timeout':
      return new ProviderError(`provider "${provider}": ${error.message}`, 504, 'upstream_stalled', true);
    case 'reset':
      return new ProviderError(`provider "${provider}": ${error.message}`, 502, 'upstream_connection_lost', true);
    case 'aborted':
      return new ProviderError(`provider "${provider}": ${error.message}`, 499, 'cancelled', false);
  }
}

/** The vendor answered 2xx with something that is not its format (bad JSON, missing fields). */
export function malformedError(provider: string, what: string): ProviderError {
  return new ProviderError(`provider "${provider}" sent a malformed answer: ${what}`, 502, 'upstream_malformed', true);
}

/** The stream ended (cleanly, from TCP's point of view) before the vendor said it was complete. */
export function truncatedError(provider: string, what: string): ProviderError {
  return new ProviderError(`provider "${provider}" ended its stream early: ${what}`, 502, 'upstream_stream_truncated', true);
}
