import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTelemetry, traceparentOf, tracer, type Telemetry } from '@agency/telemetry';
import { recordRunSpan } from './run-span.js';

describe('recordRunSpan', () => {
  const traceFile = join(mkdtempSync(join(tmpdir(), 'run-span-')), 'spans.jsonl');
  let telemetry: Telemetry;

  beforeAll(() => {
    telemetry = initTelemetry({ serviceName: 'orchestrator', env: { AGENCY_TRACE_FILE: traceFile } });
  });
  afterAll(() => telemetry.shutdown());

  it('spans the run from the moment the FR was taken to its end, under the FR’s root span, in its one trace', async () => {
    const root = tracer().startSpan('FR FR-9', { root: true });
    root.end();
    const createdAt = '2026-12-01T10:00:00.000Z';
    recordRunSpan(
      { frId: 'FR-9', sagaId: 'saga-9', run: 2, traceparent: traceparentOf(root), createdAt },
      'failed',
      1.25,
      new Date('2026-12-02T12:30:00.000Z'),
    );
    await telemetry.flush();
    const spans = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            name: string;
            traceId: string;
            parentSpanId?: string;
            startMs: number;
            durationMs: number;
            status: number;
            attributes: Record<string, unknown>;
          },
      );
    const run = spans.find((s) => s.name === 'FR FR-9 run 2')!;
    expect(run.traceId).toBe(root.spanContext().traceId);
    expect(run.parentSpanId).toBe(root.spanContext().spanId);
    expect(run.startMs).toBe(Date.parse(createdAt));
    expect(run.durationMs).toBe(26.5 * 3600 * 1000);
    expect(run.status).toBe(2);
    expect(run.attributes).toMatchObject({ 'agency.outcome': 'failed', 'agency.cost_usd': 1.25, 'agency.run': 2 });
  });
});
