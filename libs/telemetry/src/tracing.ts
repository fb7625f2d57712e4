import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

export const TRACER_NAME = 'agency';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** Writes the active (or given) context as W3C traceparent/tracestate through `set`. */
export function injectTraceContext(set: (key: string, value: string) => void, ctx: Context = context.active()): void {
  propagation.inject(ctx, undefined, { set: (_carrier, key, value) => set(key, value) });
}

/** Reads W3C trace context through `get`; returns a context to start child spans in. */
export function extractTraceContext(get: (key: string) => string | undefined, base: Context = context.active()): Context {
  return propagation.extract(base, undefined, {
    get: (_carrier, key) => get(key),
    keys: () => ['traceparent', 'tracestate'],
  });
}

/** A context whose parent is the given traceparent string (e.g. saved in saga state). */
export function contextFromTraceparent(traceparent: string | undefined, tracestate?: string): Context {
  if (!traceparent) return context.active();
  return extractTraceContext((k) => (k === 'traceparent' ? traceparent : k === 'tracestate' ? tracestate : undefined), context.active());
}

/** The traceparent of a span, so it can be stored and used as a parent after restarts. */
export function traceparentOf(span: Span): string {
  const sc = span.spanContext();
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`;
}

export function traceIdOfTraceparent(traceparent: string | undefined): string | undefined {
  const m = traceparent?.match(/^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/);
  return m?.[1];
}

export function activeTraceId(): string | undefined {
  const sc = trace.getSpan(context.active())?.spanContext();
  return sc && sc.traceId !== '00000000000000000000000000000000' ? sc.traceId : undefined;
}

/**
 * Runs fn inside a new span (child of `parent` or of the active context), records an error
 * and ends the span however fn finishes.
 */
export async function withSpan<T>(
  name: string,
  options: { attributes?: Attributes; kind?: SpanKind; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}

export { SpanKind, SpanStatusCode, context, trace };
export type { Attributes, Context, Span };
