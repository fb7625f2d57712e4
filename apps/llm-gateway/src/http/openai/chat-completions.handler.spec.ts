import type { ServerResponse } from 'node:http';
import { createLogger } from '@agency/telemetry';
import type { ChatCall, ChatOutcome, ChatService, ChatStreamSink } from '../../chat/chat.service.js';
import { ProviderError } from '../../providers/llm-provider.js';
import type { KeyRing } from '../../auth/key-ring.js';
import { ChatCompletionsHandler } from './chat-completions.handler.js';

const OUTCOME: ChatOutcome = {
  localId: '1',
  created: 1_700_000_000,
  ref: 'scripted/planner',
  alias: 'planner',
  costUsd: 0.001,
  response: {
    model: 'planner',
    content: 'hello world',
    toolCalls: [],
    finishReason: 'stop',
    usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 3 },
  },
};

/** Plays the chat service: answers, or breaks after its first piece when `breakAfterFirst`. */
class FakeChat {
  calls: ChatCall[] = [];
  breakAfterFirst = false;
  async complete(call: ChatCall): Promise<ChatOutcome> {
    this.calls.push(call);
    return OUTCOME;
  }
  async stream(call: ChatCall, sink: ChatStreamSink): Promise<ChatOutcome> {
    this.calls.push(call);
    sink.open(OUTCOME, {});
    sink.piece({ kind: 'text', text: 'hello ' });
    if (this.breakAfterFirst) throw new ProviderError('upstream reset', 502, 'upstream_reset', true);
    sink.piece({ kind: 'text', text: 'world' });
    return OUTCOME;
  }
}

/** Records what a node ServerResponse is asked to send. */
class FakeResponse {
  head?: { status: number; headers: Record<string, string | number> };
  written: string[] = [];
  writeCalls = 0;
  ended = false;
  destroyed = false;
  writableEnded = false;
  writableFinished = false;
  headersSent = false;
  on(): this {
    return this;
  }
  writeHead(status: number, headers: Record<string, string | number>): this {
    this.head = { status, headers };
    this.headersSent = true;
    return this;
  }
  write(text: string): boolean {
    this.writeCalls += 1;
    this.written.push(text);
    return true;
  }
  end(text?: string): this {
    if (text) this.written.push(text);
    this.ended = true;
    this.writableEnded = true;
    return this;
  }
}

const HEADERS = { authorization: 'Bearer right-key', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
const KEYS = { identify: (secret: string) => (secret === 'right-key' ? { id: 'agents', budgetPeriod: 'total' } : undefined) } as unknown as KeyRing;

describe('ChatCompletionsHandler', () => {
  let chat: FakeChat;
  let handler: ChatCompletionsHandler;
  let res: FakeResponse;
  const exchange = (body: unknown, headers: Record<string, string> = {}) => ({
    body,
    headers: { ...HEADERS, ...headers },
    res: res as unknown as ServerResponse,
  });

  beforeEach(() => {
    chat = new FakeChat();
    handler = new ChatCompletionsHandler(chat as unknown as ChatService, KEYS, createLogger({ service: 'llm-gateway', level: 'silent' }));
    res = new FakeResponse();
  });

  /** Answers are written at the end of the event loop's turn (socketWrites). */
  const turnEnds = () => new Promise((resolve) => setImmediate(resolve));

  /** The events written, however they were batched into writes. */
  const events = () =>
    res.written
      .join('')
      .split('\n\n')
      .filter(Boolean)
      .map((w) => w.replace(/^data: /, '').trim());

  it('answers a plain request with a chat.completion', async () => {
    await handler.handle(exchange({ model: 'planner', messages: [{ role: 'user', content: 'hi' }] }, { 'x-agency-fr-id': 'FR-1' }));
    expect(res.head?.status).toBe(200);
    expect(res.written).toEqual([]);
    await turnEnds();
    expect(JSON.parse(res.written.join(''))).toMatchObject({
      object: 'chat.completion',
      model: 'scripted/planner',
      choices: [{ message: { content: 'hello world' } }],
      usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
    });
    expect(chat.calls[0]).toMatchObject({ alias: 'planner', context: { frId: 'FR-1' }, caller: { id: 'agents' } });
    expect(chat.calls[0]!.traceHeader('traceparent')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('streams role, pieces, finish, usage and [DONE]', async () => {
    await handler.handle(exchange({ model: 'planner', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }));
    await turnEnds();
    expect(res.head).toMatchObject({ status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
    const e = events();
    expect(e.at(-1)).toBe('[DONE]');
    const chunks = e.slice(0, -1).map((x) => JSON.parse(x));
    expect(chunks.map((c) => c.choices[0]?.delta ?? 'usage')).toEqual([
      { role: 'assistant', content: '', refusal: null },
      { content: 'hello ' },
      { content: 'world' },
      {},
      'usage',
    ]);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(chunks[4].usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 3 });
    expect(res.ended).toBe(true);
    // A stream made within one turn leaves in the response's end(): one socket write.
    expect(res.writeCalls).toBe(0);
  });

  it('sends a failure after the stream opened as an OpenAI error event, without [DONE]', async () => {
    chat.breakAfterFirst = true;
    await handler.handle(exchange({ model: 'planner', messages: [{ role: 'user', content: 'hi' }], stream: true }));
    await turnEnds();
    const e = events();
    expect(JSON.parse(e.at(-1)!)).toEqual({ error: { message: 'upstream reset', type: 'server_error', param: null, code: 'upstream_reset' } });
    expect(e).not.toContain('[DONE]');
    expect(res.ended).toBe(true);
  });

  it('refuses a bad body before calling the service', async () => {
    await expect(handler.handle(exchange({ model: 'planner', messages: 'hi' }))).rejects.toMatchObject({ param: 'messages' });
    expect(chat.calls).toEqual([]);
  });

  it('refuses a missing or wrong key before reading the body', async () => {
    await expect(handler.handle(exchange({ model: 'planner' }, { authorization: 'Bearer wrong' }))).rejects.toMatchObject({ code: 'invalid_api_key' });
    await expect(handler.handle({ body: {}, headers: {}, res: res as unknown as ServerResponse })).rejects.toMatchObject({ code: 'missing_api_key' });
    expect(chat.calls).toEqual([]);
  });
});
