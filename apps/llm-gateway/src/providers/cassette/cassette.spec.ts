import { TransportError, type UpstreamRequest, type UpstreamResponse } from '../http/http.transport.js';
import { checkExchange, decodeChunk, encodeChunk, publicUrl, requestKey, type CassetteExchange } from './cassette.js';
import { RecordingTransport } from './recording.transport.js';
import { ReplayTransport } from './replay.transport.js';

const WIRE = { type: 'openai' as const, baseUrl: 'https://api.openai.com/v1' };
const request = (body: string): UpstreamRequest => ({
  url: 'https://api.openai.com/v1/chat/completions',
  method: 'POST',
  headers: { authorization: 'Bearer sk-secret' },
  body,
  timeoutMs: 1,
  idleTimeoutMs: 1,
});

async function drain(r: UpstreamResponse): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of r.body) out.push(c);
  return out;
}

class FakeUpstream {
  next: Array<{ status: number; chunks: Buffer[]; failAfter?: TransportError } | TransportError> = [];
  async send(): Promise<UpstreamResponse> {
    const n = this.next.shift()!;
    if (n instanceof TransportError) throw n;
    return {
      status: n.status,
      headers: { 'content-type': 'text/event-stream', 'x-request-id': 'req_1', 'retry-after': '2', date: 'Tue, 24 Nov 2026 10:00:07 GMT' },
      body: (async function* () {
        yield* n.chunks;
        if (n.failAfter) throw n.failAfter;
      })(),
    };
  }
}

describe('cassette chunks', () => {
  it('keeps valid UTF-8 as text and anything else (a character cut in two) as base64, exactly', () => {
    const emoji = Buffer.from('🎉', 'utf8');
    expect(encodeChunk(Buffer.from('data: héllo\n\n'))).toBe('data: héllo\n\n');
    const half = emoji.subarray(0, 2);
    expect(encodeChunk(half)).toEqual({ base64: half.toString('base64') });
    expect(decodeChunk(encodeChunk(half)).equals(half)).toBe(true);
  });

  it('strips credentials from URLs and checks lines', () => {
    expect(publicUrl('https://user:pw@example.com/v1/')).toBe('https://example.com/v1');
    expect(() => checkExchange({ cassette: 1, wire: { type: 'gemini' } }, 'c.jsonl', 'line 2')).toThrow(
      'c.jsonl: line 2: wire.type must be one of openai, anthropic, openai-compatible',
    );
    expect(() => checkExchange({ cassette: 1, wire: WIRE, key: 'a'.repeat(64) }, 'c.jsonl', 'line 1')).toThrow('has neither a response nor an error');
  });
});

describe('RecordingTransport and ReplayTransport', () => {
  let upstream: FakeUpstream;
  let written: CassetteExchange[];
  let recorder: RecordingTransport;
  const player = () => new ReplayTransport('oa', '/cassettes/run.jsonl', { load: () => written });

  beforeEach(() => {
    upstream = new FakeUpstream();
    written = [];
    recorder = new RecordingTransport(
      upstream,
      { append: async (_f, e) => void written.push(e) },
      '/cassettes/run.jsonl',
      'oa',
      WIRE,
      () => new Date('2026-11-24T10:00:00Z'),
      (e) => {
        throw e;
      },
    );
  });

  it('records every chunk exactly, without request headers, and replays the same bytes in the same pieces', async () => {
    const chunks = [
      Buffer.from('data: {"a":"h'),
      Buffer.from('é'),
      Buffer.from('🎉', 'utf8').subarray(0, 1),
      Buffer.concat([Buffer.from('🎉', 'utf8').subarray(1), Buffer.from('"}\n\n')]),
    ];
    upstream.next.push({ status: 200, chunks });
    const live = await recorder.send(request('{"model":"m","stream":true}'));
    expect(await drain(live)).toEqual(chunks);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      provider: 'oa',
      key: requestKey('{"model":"m","stream":true}'),
      request: { method: 'POST', path: '/v1/chat/completions', body: { model: 'm', stream: true } },
      response: { status: 200, headers: { 'content-type': 'text/event-stream', 'retry-after': '2', date: 'Tue, 24 Nov 2026 10:00:07 GMT' } },
    });
    expect(JSON.stringify(written)).not.toContain('sk-secret');
    expect(JSON.stringify(written)).not.toContain('req_1');

    const replayed = await player().send(request('{"model":"m","stream":true}'));
    expect(replayed.status).toBe(200);
    expect(await drain(replayed)).toEqual(chunks);
  });

  it('records connection failures, before and during an answer, and replays them as such', async () => {
    upstream.next.push(new TransportError('connect', 'cannot connect (ECONNREFUSED)', 'ECONNREFUSED'));
    await expect(recorder.send(request('a'))).rejects.toThrow('cannot connect');
    upstream.next.push({ status: 200, chunks: [Buffer.from('data: {}\n\n')], failAfter: new TransportError('reset', 'closed mid-answer') });
    await expect(drain(await recorder.send(request('b')))).rejects.toThrow('closed mid-answer');
    expect(written.map((e) => [e.error?.kind, e.response?.chunks.length])).toEqual([
      ['connect', undefined],
      ['reset', 1],
    ]);
    const p = player();
    await expect(p.send(request('a'))).rejects.toMatchObject({ kind: 'connect', errno: 'ECONNREFUSED' });
    await expect(drain(await p.send(request('b')))).rejects.toMatchObject({ kind: 'reset' });
  });

  it('serves repeated requests in recorded order, then the last again, and names a request never recorded', async () => {
    upstream.next.push({ status: 429, chunks: [Buffer.from('{"error":{}}')] }, { status: 200, chunks: [Buffer.from('ok')] });
    await drain(await recorder.send(request('same')));
    await drain(await recorder.send(request('same')));
    const p = player();
    expect((await p.send(request('same'))).status).toBe(429);
    expect((await p.send(request('same'))).status).toBe(200);
    expect((await p.send(request('same'))).status).toBe(200);
    await expect(p.send(request('other'))).rejects.toMatchObject({
      status: 422,
      code: 'cassette_no_match',
      message: expect.stringContaining('replay provider "oa": run.jsonl has no recorded exchange for this request (sha256 '),
    });
  });
});

describe('ReplayTransport matching by conversation', () => {
  const body = (turns: number, result = 'took 12 ms', tool = 'read_file') => {
    const messages: object[] = [{ role: 'user', content: 'go' }];
    for (let t = 0; t < turns; t += 1) {
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: [{ id: `c${t}`, type: 'function', function: { name: t === 1 ? tool : 'read_file', arguments: `{"n":${t}}` } }],
      });
      messages.push({ role: 'tool', tool_call_id: `c${t}`, content: result });
    }
    return JSON.stringify({ model: 'm', messages, stream: true });
  };
  const tagged = (b: string, step = 'code-r1', frId = 'FR-9'): UpstreamRequest => ({ ...request(b), tags: { alias: 'coder', frId, step } });
  let upstream: FakeUpstream;
  let written: CassetteExchange[];
  let recorder: RecordingTransport;
  const player = () => new ReplayTransport('oa', '/cassettes/run.jsonl', { load: () => written }, 'conversation');

  beforeEach(async () => {
    upstream = new FakeUpstream();
    written = [];
    recorder = new RecordingTransport(
      upstream,
      { append: async (_f, e) => void written.push(e) },
      '/cassettes/run.jsonl',
      'oa',
      WIRE,
      () => new Date('2026-11-24T10:00:00Z'),
      (e) => {
        throw e;
      },
    );
    // A tool loop of three turns of FR-9's first coding round; the second turn's first try met a 500.
    upstream.next.push(
      { status: 200, chunks: [Buffer.from('turn 0')] },
      { status: 500, chunks: [Buffer.from('{}')] },
      { status: 200, chunks: [Buffer.from('turn 1')] },
      { status: 200, chunks: [Buffer.from('turn 2')] },
    );
    for (const b of [body(0), body(1), body(1), body(2)]) await drain(await recorder.send(tagged(b)));
  });

  const text = async (r: UpstreamResponse) => Buffer.concat(await drain(r)).toString();

  it('records the call tags, and replays by FR, step and turn whatever the tool results say', async () => {
    expect(written[0]!.call).toEqual({ alias: 'coder', frId: 'FR-9', step: 'code-r1' });
    const p = player();
    expect(await text(await p.send(tagged(body(0, 'took 3 ms'))))).toBe('turn 0');
    expect((await p.send(tagged(body(1, 'took 99 ms')))).status).toBe(500);
    expect(await text(await p.send(tagged(body(1, 'took 1 ms'))))).toBe('turn 1');
    expect(await text(await p.send(tagged(body(2, 'other'))))).toBe('turn 2');
  });

  it('answers 422 naming what differed: another tool, a turn never recorded, another round or FR', async () => {
    const p = player();
    await expect(p.send(tagged(body(2, 'x', 'edit_file')))).rejects.toMatchObject({
      status: 422,
      code: 'cassette_no_match',
      message:
        'replay provider "oa": run.jsonl recorded FR-9 code round 1 turn 2 as another conversation: at turn 1 the recording called read_file({"n":1}), this request has edit_file({"n":1}); the run took a different path than the recording',
    });
    await expect(p.send(tagged(body(3)))).rejects.toThrow('has no recorded call for FR-9 code round 1 turn 3 (recorded turns of FR-9 code round 1: 0, 1, 2)');
    await expect(p.send(tagged(body(0), 'code-r2'))).rejects.toThrow('(recorded rounds and attempts of FR-9 code: 1/-)');
    await expect(p.send(tagged(body(0), 'review-r1'))).rejects.toThrow('(recorded roles of FR-9: code)');
    await expect(p.send(tagged(body(0), 'code-r1', 'FR-10'))).rejects.toThrow('(recorded FRs: FR-9)');
  });
});
