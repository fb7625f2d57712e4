import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { extractTraceContext, injectTraceContext, type Context } from '@agency/telemetry';

export function newHeaders(): MsgHdrs {
  return natsHeaders();
}

export function injectTrace(h: MsgHdrs, ctx?: Context): void {
  injectTraceContext((k, v) => h.set(k, v), ctx);
}

export function extractTrace(h: MsgHdrs | undefined): Context {
  return extractTraceContext((k) => (h?.has(k) ? h.get(k) : undefined));
}

export function headerValue(h: MsgHdrs | undefined, key: string): string | undefined {
  return h?.has(key) ? h.get(key) : undefined;
}
