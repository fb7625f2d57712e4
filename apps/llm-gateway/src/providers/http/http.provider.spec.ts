import type { LlmChatRequest, LlmStreamEvent } from '../llm-provider.js';
import { AnthropicWire } from '../wire/anthropic.wire.js';
import { OpenAiWire } from '../wire/openai.wire.js';
import { DEFAULT_TIMEOUTS, HttpProvider, SLOWEST_TOKENS_PER_SECOND, streamsUpstream } from './http.provider.js';
import { TransportError, type UpstreamRequest, type UpstreamResponse } from './http.transport.js';

/** Plays the network: answers each send with the next scripted response (bytes in chunks) or failure. */
class FakeTransport {
  sent: UpstreamRequest[] = [];
  next: Array<{ status?: number; headers?: Record<string, string>; chunks?: string[]; failAfter?: TransportError } | TransportError> = [];

  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    this.sent.push(request);
    const n = this.next.shift()!;
    if (n instanceof TransportError) throw n;
    const chunks = (n.chunks ?? []).map((c) => Buffer.from(c));
    const failAfter = n.failAfter;
    return {
      status: n.status ?? 200,
      headers: n.headers ?? { 'content-type': 'application/json' },
      body: (async function* () {
        for (const c of chunks) yield c;
        if (failAfter) throw failAfter;
      })(),
    };
  }
}

const call: LlmChatRequest = { alias: 'coder', model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], context: {} };
const completion = JSON.stringify({
  id: 'chatcmpl-1',
  choices: [{ message: { content: 'hello' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 1 },
});
const sse = (...chunks: object[]) => chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`);

async function collect(events: AsyncIterable<LlmStreamEvent>): Promise<LlmStreamEvent[]> {
  const out: LlmStreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('HttpProvider', () => {
  let transport: FakeTransport;
  let provider: HttpProvider;

  beforeEach(() => {
    transport = new FakeTransport();
    provider = new HttpProvider(
      'oa',
      new OpenAiWire('oa', 'https://api.example.com/v1/', { authorization: 'Bearer sk-x' }, 'max_completion_tokens'),
      transport,
      { ...DEFAULT_TIMEOUTS, timeoutMs: 1234 },
    );
  });

  it('posts the wire request with its timeouts and reads the answer split across chunks', async () => {
    transport.next.push({ chunks: [completion.slice(0, 10), completion.slice(10)] });
    expect(await provider.chat(call)).toMatchObject({ id: 'chatcmpl-1', content: 'hello', usage: { inputTokens: 3, outputTokens: 1 } });
    expect(transport.sent[0]).toMatchObject({
      url: 'https://api.example.com/v1/chat/completions',
      method: 'POST',
      headers: { authorization: 'Bearer sk-x' },
      timeoutMs: 1234,
    });
    // A non-streaming call asks for a stream (the answer came whole here, as some servers send it).
    expect(JSON.parse(transport.sent[0]!.body!)).toEqual({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(provider.type).toBe('openai');
    const plain = new HttpProvider('oa', new OpenAiWire('oa', 'https://api.example.com/v1/', {}, 'max_completion_tokens'), transport, {
      ...DEFAULT_TIMEOUTS,
      streamUpstream: false,
    });
    transport.next.push({ chunks: [completion] });
    expect(await plain.chat(call)).toMatchObject({ content: 'hello' });
    expect(JSON.parse(transport.sent[1]!.body!)).toEqual({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('asks for a stream only when the answer may outlast the first-byte timeout (stream_upstream: auto)', () => {
    expect(DEFAULT_TIMEOUTS.streamUpstream).toBe('auto');
    const bound = 60 * SLOWEST_TOKENS_PER_SECOND;
    expect(streamsUpstream('auto', undefined, 60_000)).toBe(true);
    expect(streamsUpstream('auto', bound + 1, 60_000)).toBe(true);
    expect(streamsUpstream('auto', bound, 60_000)).toBe(false);
    expect(streamsUpstream('auto', 256, 60_000)).toBe(false);
    // A deadline that leaves less time makes a shorter answer worth streaming.
    expect(streamsUpstream('auto', 256, 10_000)).toBe(true);
    expect(streamsUpstream(true, 1, 60_000)).toBe(true);
    expect(streamsUpstream(false, undefined, 60_000)).toBe(false);
  });

  it('asks a short answer as JSON, and still reads a stream sent instead (auto)', async () => {
    const auto = new HttpProvider('oa', new OpenAiWire('oa', 'https://api.example.com/v1/', {}, 'max_completion_tokens'), transport, {
      ...DEFAULT_TIMEOUTS,
      timeoutMs: 60_000,
    });
    transport.next.push({ chunks: [completion] });
    expect(await auto.chat({ ...call, maxTokens: 256 })).toMatchObject({ content: 'hello' });
    expect(JSON.parse(transport.sent[0]!.body!)).toEqual({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 256 });
    // The call's deadline leaves 5 s: 256 tokens may not come whole by then, so it streams.
    transport.next.push({ chunks: [completion] });
    await auto.chat({ ...call, maxTokens: 256 }, undefined, { firstByteTimeoutMs: 5_000 });
    expect(JSON.parse(transport.sent[1]!.body!)).toMatchObject({ stream: true });
    // A server (or a cassette) that streams a JSON request's answer is read all the same.
    const chunks = sse({ id: 'c', choices: [{ delta: { content: 'hi there' }, finish_reason: 'stop' }] });
    transport.next.push({ headers: { 'content-type': 'text/event-stream' }, chunks: [...chunks, 'data: [DONE]\n\n'] });
    expect(await auto.chat({ ...call, maxTokens: 16 })).toMatchObject({ content: 'hi there', finishReason: 'stop' });
    // Bad JSON to a JSON request says what was wrong, not that a stream was asked for.
    transport.next.push({ chunks: ['{"choices": ['] });
    const said = await auto.chat({ ...call, maxTokens: 16 }).catch((e: Error) => e.message);
    expect(said).toMatch(/is not JSON/);
    expect(said).not.toMatch(/asked for a stream/);
  });

  it('answers a non-streaming call from the streamed answer, assembled', async () => {
    const base = { id: 'chatcmpl-3', created: 7 };
    const chunks = sse(
      { ...base, choices: [{ delta: { content: 'a long ' } }] },
      { ...base, choices: [{ delta: { content: 'answer' }, finish_reason: 'length' }] },
      { ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } },
    );
    transport.next.push({ headers: { 'content-type': 'text/event-stream' }, chunks: [...chunks, 'data: [DONE]\n\n'] });
    expect(await provider.chat(call)).toEqual({
      id: 'chatcmpl-3',
      created: 7,
      model: 'gpt-4.1',
      content: 'a long answer',
      toolCalls: [],
      finishReason: 'length',
      usage: { inputTokens: 5, cachedInputTokens: 0, outputTokens: 2 },
    });
    transport.next.push({ headers: { 'content-type': 'text/event-stream' }, chunks: chunks.slice(0, 1) });
    await expect(provider.chat(call)).rejects.toMatchObject({ code: 'upstream_stream_truncated' });
  });

  it("waits for the first byte no longer than the call's deadline leaves, and says when the deadline cut it", async () => {
    transport.next.push(
      { chunks: [completion] },
      new TransportError('timeout', 'sent no answer within 200 ms'),
      new TransportError('timeout', 'sent no answer within 1234 ms'),
    );
    await provider.chat(call, undefined, { firstByteTimeoutMs: 5000 });
    expect(transport.sent[0]!.timeoutMs).toBe(1234);
    await expect(provider.chat(call, undefined, { firstByteTimeoutMs: 200 })).rejects.toMatchObject({
      status: 504,
      code: 'deadline_exceeded',
      disposition: 'final',
    });
    expect(transport.sent[1]!.timeoutMs).toBe(200);
    // Its own timeout is the target's fault: retryable, and its circuit breaker counts it.
    await expect(provider.chat(call, undefined, { firstByteTimeoutMs: 9000 })).rejects.toMatchObject({ status: 504, code: 'upstream_timeout' });
  });

  it('turns statuses, bad JSON and connection failures into ProviderErrors', async () => {
    transport.next.push({ status: 429, headers: { 'retry-after': '1' }, chunks: ['{"error":{"message":"slow down"}}'] });
    await expect(provider.chat(call)).rejects.toMatchObject({
      status: 429,
      code: 'upstream_rate_limited',
      retryAfterMs: 1000,
      message: 'provider "oa" answered 429 (rate limited): slow down',
    });
    transport.next.push({ chunks: ['{"choices": ['] });
    await expect(provider.chat(call)).rejects.toMatchObject({ status: 502, code: 'upstream_malformed' });
    transport.next.push(new TransportError('connect', 'cannot connect to https://api.example.com (ECONNREFUSED)'));
    await expect(provider.chat(call)).rejects.toMatchObject({
      code: 'upstream_unreachable',
      message: 'provider "oa": cannot connect to https://api.example.com (ECONNREFUSED)',
    });
    transport.next.push({ chunks: ['{"id":'], failAfter: new TransportError('reset', 'closed the connection') });
    await expect(provider.chat(call)).rejects.toMatchObject({ code: 'upstream_connection_lost' });
  });

  it('streams SSE into neutral events ending with the whole answer', async () => {
    const base = { id: 'chatcmpl-2', created: 1 };
    const text =
      sse({ ...base, choices: [{ delta: { content: 'he' } }] }, { ...base, choices: [{ delta: { content: 'llo' }, finish_reason: 'stop' }] }).join('') +
      'data: [DONE]\n\n';
    transport.next.push({ headers: { 'content-type': 'text/event-stream' }, chunks: [text.slice(0, 17), text.slice(17, 60), text.slice(60)] });
    const events = await collect(provider.stream(call));
    expect(events.map((e) => e.kind)).toEqual(['start', 'text', 'text', 'end']);
    expect(events.at(-1)).toMatchObject({ response: { content: 'hello', finishReason: 'stop' } });
    expect(JSON.parse(transport.sent[0]!.body!)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('accepts a server that answers a stream request in one JSON piece', async () => {
    transport.next.push({ chunks: [completion] });
    expect((await collect(provider.stream(call))).map((e) => e.kind)).toEqual(['start', 'text', 'end']);
  });

  it("stamps an answer whose body has no time with the vendor's HTTP Date, and keeps the vendor's own created", async () => {
    const date = 'Tue, 24 Nov 2026 10:00:07 GMT';
    const seconds = Date.parse(date) / 1000;
    const anthropic = new HttpProvider('claude', new AnthropicWire('claude', 'https://api.example.com', {}, 4096), transport, DEFAULT_TIMEOUTS);
    const message = JSON.stringify({
      id: 'msg_1',
      model: 'm',
      content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 1, output_tokens: 1 },
    });
    transport.next.push({ headers: { 'content-type': 'application/json', date }, chunks: [message] });
    expect(await anthropic.chat(call)).toMatchObject({ id: 'msg_1', created: seconds });
    const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
    const stream = [
      event('message_start', { message: { id: 'msg_2', usage: { input_tokens: 1 } } }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: 'hi' } }),
      event('message_delta', { delta: { stop_reason: 'end_turn' } }),
      event('message_stop', {}),
    ];
    transport.next.push({ headers: { 'content-type': 'text/event-stream', date }, chunks: stream });
    const events = await collect(anthropic.stream(call));
    expect(events[0]).toMatchObject({ kind: 'start', id: 'msg_2', created: seconds });
    expect(events.at(-1)).toMatchObject({ kind: 'end', response: { created: seconds } });
    // No Date (or an unreadable one): left to the gateway's clock.
    transport.next.push({ headers: { 'content-type': 'application/json', date: 'yesterday' }, chunks: [message] });
    expect((await anthropic.chat(call)).created).toBeUndefined();
    // OpenAI says when in its body: that wins over the header.
    transport.next.push({
      headers: { 'content-type': 'application/json', date },
      chunks: [JSON.stringify({ ...JSON.parse(completion), created: 1_700_000_000 })],
    });
    expect((await provider.chat(call)).created).toBe(1_700_000_000);
  });

  it('fails a stream that breaks off, whether the connection resets or ends early', async () => {
    transport.next.push({
      headers: { 'content-type': 'text/event-stream' },
      chunks: sse({ choices: [{ delta: { content: 'he' } }] }),
      failAfter: new TransportError('reset', 'closed'),
    });
    await expect(collect(provider.stream(call))).rejects.toMatchObject({ code: 'upstream_connection_lost' });
    transport.next.push({ headers: { 'content-type': 'text/event-stream' }, chunks: sse({ choices: [{ delta: { content: 'he' } }] }) });
    await expect(collect(provider.stream(call))).rejects.toMatchObject({ code: 'upstream_stream_truncated' });
  });
});
