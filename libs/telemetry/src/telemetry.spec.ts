import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';
import { runWithMessageContext } from './message-context.js';
import { initTelemetry, type Telemetry } from './telemetry.js';
import { contextFromTraceparent, extractTraceContext, injectTraceContext, traceIdOfTraceparent, traceparentOf, tracer, withSpan } from './tracing.js';
import { context, trace } from '@opentelemetry/api';

describe('telemetry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-'));
  const traceFile = join(dir, 'spans.jsonl');
  let telemetry: Telemetry;

  beforeAll(() => {
    telemetry = initTelemetry({ serviceName: 'unit-test', env: { AGENCY_TRACE_FILE: traceFile } });
  });
  afterAll(() => telemetry.shutdown());

  it('produces real trace ids and writes spans to the trace file', async () => {
    let traceId = '';
    await withSpan('outer', { attributes: { 'agency.fr_id': 'FR-1' } }, async (span) => {
      traceId = span.spanContext().traceId;
      await withSpan('inner', {}, async () => undefined);
    });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe('0'.repeat(32));
    await telemetry.flush();
    const spans = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const ours = spans.filter((s) => s.traceId === traceId);
    expect(ours.map((s) => s.name).sort()).toEqual(['inner', 'outer']);
    expect(ours.find((s) => s.name === 'inner').parentSpanId).toBe(ours.find((s) => s.name === 'outer').spanId);
    expect(ours[0].service).toBe('unit-test');
  });

  it('carries trace context through a header carrier and a stored traceparent', async () => {
    const headers = new Map<string, string>();
    let parentTrace = '';
    await withSpan('publisher', {}, async (span) => {
      parentTrace = span.spanContext().traceId;
      injectTraceContext((k, v) => headers.set(k, v));
    });
    expect(traceIdOfTraceparent(headers.get('traceparent'))).toBe(parentTrace);
    const extracted = extractTraceContext((k) => headers.get(k));
    const child = tracer().startSpan('consumer', {}, extracted);
    expect(child.spanContext().traceId).toBe(parentTrace);
    const stored = traceparentOf(child);
    child.end();
    const again = tracer().startSpan('after-restart', {}, contextFromTraceparent(stored));
    expect(again.spanContext().traceId).toBe(parentTrace);
    again.end();
  });

  it('logs JSON lines with trace, FR and job ids and redacts secrets', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const logger = createLogger({ service: 'unit-test', destination: sink });
    const span = tracer().startSpan('logging');
    context.with(trace.setSpan(context.active(), span), () =>
      runWithMessageContext({ frId: 'FR-7', jobId: 'job-3', sagaId: 's-1' }, () => {
        logger.info({ context: 'Gateway', apiKey: 'sk-secret', headers: { authorization: 'Bearer x' } }, 'calling provider');
        logger.error({ err: new Error('boom'), context: 'Worker' }, 'boom');
      }),
    );
    span.end();
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).toMatchObject({ level: 'info', service: 'unit-test', frId: 'FR-7', jobId: 'job-3', sagaId: 's-1', context: 'Gateway', apiKey: '[redacted]' });
    expect(first.headers.authorization).toBe('[redacted]');
    expect(first.trace_id).toBe(span.spanContext().traceId);
    expect(JSON.stringify(first)).not.toContain('sk-secret');
    expect(second).toMatchObject({ level: 'error', msg: 'boom', context: 'Worker' });
  });
});
