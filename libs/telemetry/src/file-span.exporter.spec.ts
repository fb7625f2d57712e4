import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { FileSpanExporter, linesBuffer, recordLine, type SpanRecord } from './file-span.exporter.js';

function span(over: { name?: string; parent?: string; service?: string; attributes?: Record<string, unknown> } = {}): ReadableSpan {
  return {
    spanContext: () => ({ traceId: '75ed2ab01c0da738f6edbd3ea77c189b', spanId: 'd8635e99f5ef5b40', traceFlags: 1 }),
    parentSpanContext: over.parent ? { traceId: '75ed2ab01c0da738f6edbd3ea77c189b', spanId: over.parent, traceFlags: 1 } : undefined,
    name: over.name ?? 'chat coder',
    resource: { attributes: { 'service.name': over.service ?? 'llm-gateway' } },
    kind: 1,
    startTime: [1796417129, 404_500_000],
    duration: [0, 62_353_886],
    status: { code: 2, message: 'failed' },
    attributes: over.attributes ?? { 'gen_ai.request.model': 'coder', 'gen_ai.usage.input_tokens': 120, 'gen_ai.response.finish_reasons': ['stop'] },
  } as unknown as ReadableSpan;
}

describe('recordLine', () => {
  it('writes a span as one SpanRecord JSON line', () => {
    const line = recordLine(span({ parent: 'aaaaaaaaaaaaaaaa' }));
    expect(line).not.toContain('\n');
    expect(JSON.parse(line) as SpanRecord).toEqual({
      traceId: '75ed2ab01c0da738f6edbd3ea77c189b',
      spanId: 'd8635e99f5ef5b40',
      parentSpanId: 'aaaaaaaaaaaaaaaa',
      name: 'chat coder',
      service: 'llm-gateway',
      kind: 1,
      startMs: 1796417129404.5,
      durationMs: 62.353886,
      status: 2,
      attributes: { 'gen_ai.request.model': 'coder', 'gen_ai.usage.input_tokens': 120, 'gen_ai.response.finish_reasons': ['stop'] },
    });
  });

  it('leaves out a missing parent and escapes names, services and attributes', () => {
    const record = JSON.parse(recordLine(span({ name: 'say "hi"\n', service: 'a\\b', attributes: { 'x"y': 'line\nbreak' } }))) as SpanRecord;
    expect(record).not.toHaveProperty('parentSpanId');
    expect(record).toMatchObject({ name: 'say "hi"\n', service: 'a\\b', attributes: { 'x"y': 'line\nbreak' } });
  });
});

describe('linesBuffer', () => {
  it('gives each line with its newline, in UTF-8, with nothing before, between or after', () => {
    const buf = linesBuffer(['{"a":"ünïcode ✓"}', '', '{"b":"😀"}']);
    expect(buf.toString('utf8')).toBe('{"a":"ünïcode ✓"}\n\n{"b":"😀"}\n');
    expect(buf.length).toBe(Buffer.byteLength('{"a":"ünïcode ✓"}\n\n{"b":"😀"}\n'));
    expect(linesBuffer([]).length).toBe(0);
  });
});

describe('FileSpanExporter', () => {
  it('appends every batch to the file, one SpanRecord line per span', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-span-exporter-'));
    try {
      const path = join(dir, 'traces', 'spans.jsonl');
      const exporter = new FileSpanExporter(path);
      const exported = (spans: ReadableSpan[]) => new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
      expect(await exported([span({ name: 'first' }), span({ name: 'ünïcode ✓' })])).toEqual({ code: ExportResultCode.SUCCESS });
      expect(await exported([])).toEqual({ code: ExportResultCode.SUCCESS });
      expect(await exported([span({ name: 'third' })])).toEqual({ code: ExportResultCode.SUCCESS });
      const lines = readFileSync(path, 'utf8').split('\n');
      expect(lines.at(-1)).toBe('');
      expect(lines.slice(0, -1).map((l) => (JSON.parse(l) as SpanRecord).name)).toEqual(['first', 'ünïcode ✓', 'third']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
