import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { context, extractTraceContext, SpanKind, SpanStatusCode, trace, tracer } from '@agency/telemetry';

/** Probes and scrapes come every few seconds and say nothing about the work: no spans for them. */
const UNTRACED = /^\/(health\/|metrics$)/;

/** Each traced request's span ids, for its request log line (written after the span's context is gone). */
const requestSpans = new WeakMap<IncomingMessage, { trace_id: string; span_id: string }>();

/** The trace and span ids of a request's SERVER span, if it has one. */
export function requestTraceIds(req: IncomingMessage): { trace_id: string; span_id: string } | undefined {
  return requestSpans.get(req);
}

/**
 * A SERVER span for every HTTP API call a service answers (the steering API, webhooks, PR
 * records), named as OpenTelemetry's HTTP semantic conventions say: `{method} {route}` with the
 * route template (`POST /sagas/:frId/approve`), never the concrete path, so names stay few. It
 * joins the caller's trace when the request carries a traceparent (the CLI, the dashboard).
 */
@Injectable()
export class HttpSpanInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const res = ctx.switchToHttp().getResponse<FastifyReply>();
    const route = req.routeOptions?.url ?? req.url.split('?')[0]!;
    if (UNTRACED.test(route)) return next.handle();
    const parent = extractTraceContext((k) => {
      const v = req.headers[k];
      return typeof v === 'string' ? v : undefined;
    });
    const span = tracer().startSpan(
      `${req.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'http.route': route, 'url.path': req.url.split('?')[0]!, 'url.scheme': req.protocol },
      },
      parent,
    );
    // A tracer without an exporter makes spans with all-zero ids: those are no trace to point at.
    const ids = span.spanContext();
    if (trace.isSpanContextValid(ids)) requestSpans.set(req.raw, { trace_id: ids.traceId, span_id: ids.spanId });
    let failure: unknown;
    let ended = false;
    // The status is known once the answer is sent (Nest sets @HttpCode and exception statuses after the handler).
    const end = () => {
      if (ended) return;
      ended = true;
      const status = res.raw.statusCode;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: failure instanceof Error ? failure.message : String(status) });
        span.setAttribute('error.type', failure instanceof Error ? failure.name : String(status));
      }
      span.end();
    };
    res.raw.once('finish', end);
    res.raw.once('close', end);
    const spanContext = trace.setSpan(parent, span);
    return new Observable((subscriber) =>
      // Subscribed inside the span's context: what the handler does (bus publishes, calls) are its children.
      context.with(spanContext, () =>
        next.handle().subscribe({
          next: (v) => subscriber.next(v),
          error: (e: unknown) => {
            failure = e;
            subscriber.error(e);
          },
          complete: () => subscriber.complete(),
        }),
      ),
    );
  }
}
