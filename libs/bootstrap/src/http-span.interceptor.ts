import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { suppressTracing } from '@opentelemetry/core';
import { context, extractTraceContext, SpanKind, SpanStatusCode, trace, tracer, type Context, type Span } from '@agency/telemetry';
import { isPollRequest } from './poll-request.js';

/** Probes and scrapes come every few seconds and say nothing about the work: no spans for them. */
const UNTRACED = /^\/(health\/|metrics$)/;

/** Each traced request's span ids, for its request log line (written after the span's context is gone). */
const requestSpans = new WeakMap<IncomingMessage, { trace_id: string; span_id: string }>();

/** The trace and span ids of a request's SERVER span, if it has one. */
export function requestTraceIds(req: IncomingMessage): { trace_id: string; span_id: string } | undefined {
  return requestSpans.get(req);
}

/** The request's SERVER span, started at `startTime` (a poll's span is made after the fact). */
function serverSpan(req: FastifyRequest, route: string, parent: Context, startTime?: number): Span {
  return tracer().startSpan(
    `${req.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method, 'http.route': route, 'url.path': req.url.split('?')[0]!, 'url.scheme': req.protocol },
      ...(startTime === undefined ? {} : { startTime }),
    },
    parent,
  );
}

/** Ends the span with the answer's status, once the answer is sent (Nest sets @HttpCode and exception statuses after the handler). */
function endSpan(span: Span, status: number, failure: unknown): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure instanceof Error ? failure.message : String(status) });
    span.setAttribute('error.type', failure instanceof Error ? failure.name : String(status));
  }
  span.end();
}

/** Calls `done` once, when the answer is sent or the connection closes. */
function onAnswered(res: FastifyReply, done: () => void): void {
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    done();
  };
  res.raw.once('finish', once);
  res.raw.once('close', once);
}

/** Runs the handler inside `ctx`, noting its error for the span. */
function handleIn(ctx: Context, next: CallHandler, failed: (e: unknown) => void): Observable<unknown> {
  return new Observable((subscriber) =>
    // Subscribed inside the context: what the handler does (bus publishes, calls) are the span's children.
    context.with(ctx, () =>
      next.handle().subscribe({
        next: (v) => subscriber.next(v),
        error: (e: unknown) => {
          failed(e);
          subscriber.error(e);
        },
        complete: () => subscriber.complete(),
      }),
    ),
  );
}

/**
 * A SERVER span for every HTTP API call a service answers (the steering API, webhooks, PR
 * records), named as OpenTelemetry's HTTP semantic conventions say: `{method} {route}` with the
 * route template (`POST /sagas/:frId/approve`), never the concrete path, so names stay few. It
 * joins the caller's trace when the request carries a traceparent (the CLI, the dashboard).
 * A client's state polling (POLL_HEADER on a GET) leaves no span unless it fails.
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
    if (isPollRequest(req.method, req.headers)) return this.poll(req, res, route, parent, next);
    const span = serverSpan(req, route, parent);
    // A tracer without an exporter makes spans with all-zero ids: those are no trace to point at.
    const ids = span.spanContext();
    if (trace.isSpanContextValid(ids)) requestSpans.set(req.raw, { trace_id: ids.traceId, span_id: ids.spanId });
    let failure: unknown;
    onAnswered(res, () => endSpan(span, res.raw.statusCode, failure));
    return handleIn(trace.setSpan(parent, span), next, (e) => (failure = e));
  }

  /**
   * A poll runs with tracing suppressed, so neither it nor what its handler does makes a span
   * (twice a second per watching CLI, they buried the runs' traces). A failed poll is still worth
   * a trace: its span is made when the answer is known, from the time the request came in.
   */
  private poll(req: FastifyRequest, res: FastifyReply, route: string, parent: Context, next: CallHandler): Observable<unknown> {
    const startTime = Date.now();
    let failure: unknown;
    onAnswered(res, () => {
      const status = res.raw.statusCode;
      if (status < 400 && failure === undefined) return;
      endSpan(serverSpan(req, route, parent, startTime), status, failure);
    });
    return handleIn(suppressTracing(parent), next, (e) => (failure = e));
  }
}
