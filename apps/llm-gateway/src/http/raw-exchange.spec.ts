import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { ApiError } from './api-error.js';
import { readJsonBody, sendJson } from './raw-exchange.js';

function request(chunks: string[], headers: Record<string, string> = { 'content-type': 'application/json' }): IncomingMessage {
  const stream = new PassThrough();
  Object.assign(stream, { headers });
  setImmediate(() => {
    for (const c of chunks) stream.write(c);
    stream.end();
  });
  return stream as unknown as IncomingMessage;
}

async function refusal(req: IncomingMessage, limit = 100): Promise<string> {
  const e = await readJsonBody(req, limit).then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof ApiError)) throw new Error('expected an ApiError');
  return [e.getStatus(), e.code, e.message].filter(Boolean).join(' ');
}

describe('readJsonBody', () => {
  it('parses a JSON body arriving in pieces, whatever the JSON content type', async () => {
    expect(await readJsonBody(request(['{"mod', 'el": "x"}']), 100)).toEqual({ model: 'x' });
    expect(await readJsonBody(request(['[1]'], { 'content-type': 'application/vnd.api+json; charset=utf-8' }), 100)).toEqual([1]);
  });

  it('refuses what Fastify would: another type, too large, not JSON, empty', async () => {
    expect(await refusal(request(['x'], { 'content-type': 'text/plain' }))).toBe(
      '415 unsupported_media_type Unsupported Media Type: text/plain; send application/json',
    );
    expect(await refusal(request(['{}'], { 'content-type': 'application/json', 'content-length': '500' }))).toBe(
      '413 request_too_large Request body is too large',
    );
    expect(await refusal(request(['{"a": "', 'x'.repeat(200), '"}']))).toBe('413 request_too_large Request body is too large');
    expect(await refusal(request(['{"model": ']))).toMatch(/^400 the request body is not valid JSON: /);
    expect(await refusal(request([]))).toBe('400 the request body is empty; send a JSON object');
  });
});

describe('sendJson', () => {
  it('sets status and headers at once and writes the body in one end() at the end of the turn', async () => {
    const calls: unknown[] = [];
    const res = { writeHead: (...a: unknown[]) => calls.push(['head', ...a]), end: (t: string) => calls.push(['end', t]) } as unknown as ServerResponse;
    sendJson(res, 429, { error: 'é' }, { 'retry-after': '2' });
    expect(calls).toEqual([['head', 429, { 'retry-after': '2', 'content-type': 'application/json; charset=utf-8', 'content-length': 14 }]]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([
      ['head', 429, { 'retry-after': '2', 'content-type': 'application/json; charset=utf-8', 'content-length': 14 }],
      ['end', '{"error":"é"}'],
    ]);
  });

  it('does not write to a response that was destroyed or ended before the end of the turn', async () => {
    const ends: string[] = [];
    const make = (state: { destroyed?: boolean; writableEnded?: boolean }) =>
      ({ ...state, writeHead: () => undefined, end: (t: string) => ends.push(t) }) as unknown as ServerResponse;
    const gone = make({});
    sendJson(gone, 200, { a: 1 });
    Object.assign(gone, { destroyed: true });
    const ended = make({});
    sendJson(ended, 200, { b: 2 });
    Object.assign(ended, { writableEnded: true });
    sendJson(make({}), 200, { c: 3 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual(['{"c":3}']);
  });
});
