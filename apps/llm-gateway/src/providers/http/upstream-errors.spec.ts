import { TransportError } from './http.transport.js';
import { retryAfterMs, statusError, transportError, vendorMessage } from './upstream-errors.js';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('retryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, NOW)).toBe(250);
    expect(retryAfterMs({ 'retry-after': '2' }, NOW)).toBe(2000);
    expect(retryAfterMs({ 'retry-after': '0.5' }, NOW)).toBe(500);
    expect(retryAfterMs({ 'retry-after': new Date(NOW + 3000).toUTCString() }, NOW)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
    expect(retryAfterMs({}, NOW)).toBeUndefined();
  });
});

describe('vendorMessage', () => {
  it('quotes the vendor error message, or the start of a non-JSON body', () => {
    expect(vendorMessage(body({ error: { message: 'Rate limit reached' } }))).toBe('Rate limit reached');
    expect(vendorMessage(body({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }))).toBe('Overloaded');
    expect(vendorMessage(body('<html>\n  502 Bad Gateway\n</html>'))).toBe('<html> 502 Bad Gateway </html>');
    expect(vendorMessage(body(''))).toBe('(empty body)');
    expect(vendorMessage(body('x'.repeat(400)))).toHaveLength(303);
  });
});

describe('statusError', () => {
  const map = (status: number, headers: Record<string, string> = {}) => {
    const e = statusError('oa', status, body({ error: { message: 'said' } }), headers, NOW);
    return { status: e.status, code: e.code, disposition: e.disposition, retryAfterMs: e.retryAfterMs };
  };

  it('retries rate limits and server errors, honouring retry-after', () => {
    expect(map(429, { 'retry-after': '3' })).toEqual({ status: 429, code: 'upstream_rate_limited', disposition: 'retry', retryAfterMs: 3000 });
    expect(map(500)).toEqual({ status: 502, code: 'upstream_error', disposition: 'retry', retryAfterMs: undefined });
    expect(map(529)).toMatchObject({ status: 502, code: 'upstream_overloaded', disposition: 'retry' });
    expect(map(503)).toMatchObject({ code: 'upstream_overloaded', disposition: 'retry' });
    expect(map(408)).toMatchObject({ status: 504, code: 'upstream_timeout', disposition: 'retry' });
  });

  it('falls back when the gateway own key or model is wrong, and passes request errors on', () => {
    expect(map(401)).toMatchObject({ status: 502, code: 'upstream_auth_failed', disposition: 'fallback' });
    expect(map(404)).toMatchObject({ status: 502, code: 'upstream_not_found', disposition: 'fallback' });
    expect(map(400)).toMatchObject({ status: 400, code: 'upstream_rejected', disposition: 'final' });
    expect(map(413)).toMatchObject({ status: 413, code: 'upstream_rejected', disposition: 'final' });
    expect(statusError('oa', 401, body({ error: { message: 'Incorrect API key provided: sk-...abc' } }), {}, NOW).message).toBe(
      'provider "oa" answered 401: the gateway\'s key for this provider was refused (Incorrect API key provided: sk-...abc); check its api_key_env',
    );
  });
});

describe('transportError', () => {
  it('retries connection failures and timeouts, never a cancellation', () => {
    expect(transportError('oa', new TransportError('connect', 'cannot connect to http://127.0.0.1:9 (ECONNREFUSED)', 'ECONNREFUSED'))).toMatchObject({
      status: 502,
      code: 'upstream_unreachable',
      retryable: true,
    });
    expect(transportError('oa', new TransportError('timeout', 'sent no answer within 5 ms'))).toMatchObject({
      status: 504,
      code: 'upstream_timeout',
      retryable: true,
    });
    expect(transportError('oa', new TransportError('idle-timeout', 'went silent'))).toMatchObject({ status: 504, code: 'upstream_stalled' });
    expect(transportError('oa', new TransportError('reset', 'closed'))).toMatchObject({ status: 502, code: 'upstream_connection_lost', retryable: true });
    expect(transportError('oa', new TransportError('aborted', 'cancelled'))).toMatchObject({ status: 499, code: 'cancelled', disposition: 'final' });
  });
});
