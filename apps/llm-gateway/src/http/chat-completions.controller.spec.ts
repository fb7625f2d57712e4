import type { FastifyReply, FastifyRequest } from 'fastify';
import { createLogger } from '@agency/telemetry';
import type { ChatCall, ChatOutcome, ChatService, ChatStreamSink } from '../chat/chat.service.js';
import { ProviderError } from '../providers/llm-provider.js';
import { ChatCompletionsController } from './chat-completions.controller.js';

const OUTCOME: ChatOutcome = {
  id: 'chatcmpl-1',
  created: 1_700_000_000,
  ref: 'scripted/planner',
  alias: 'planner',
  costUsd: 0.001,
  response: { model: 'planner', content: 'hello world', toolCalls: [], finishReason: 'stop', usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 3 } },
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
    sink.open(OUTCOME);
    sink.piece({ kind: 'text', text: 'hello ' });
    if (this.breakAfterFirst) throw new ProviderError('upstream reset', 502, 'upstream_reset', true);
    sink.piece({ kind: 'text', text: 'world' });
    return OUTCOME;
  }
}

/** Records what a Fastify reply would send, raw writes included. */
class FakeReply {
  sentStatus?: number;
  sentBody?: unknown;
  hijacked = false;
  head?: { status: number; headers: Record<string, string> };
  written: string[] = [];
  ended = false;
  raw = {
    destroyed: false,
    writableEnded: false,
    writableFinished: false,
    on: () => undefined,
    writeHead: (status: number, headers: Record<string, string>) => (this.head = { status, headers }),
    write: (text: string) => this.written.push(text),
    end: () => {
      this.ended = true;
      this.raw.writableEnded = true;
    },
  };
  hijack(): void {
    this.hijacked = true;
  }
  status(code: number): this {
    this.sentStatus = code;
    return this;
  }
  async send(body: unknown): Promise<void> {
    this.sentBody = body;
  }
}

const request = (headers: Record<string, string> = {}) => ({ headers: { authorization: 'Bearer x', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', ...headers } }) as unknown as FastifyRequest;

describe('ChatCompletionsController', () => {
  let chat: FakeChat;
  let controller: ChatCompletionsController;
  let reply: FakeReply;

  beforeEach(() => {
    chat = new FakeChat();
    controller = new ChatCompletionsController(chat as unknown as ChatService, createLogger({ service: 'llm-gateway', level: 'silent' }));
    reply = new FakeReply();
  });

  const events = () => reply.written.map((w) => w.replace(/^data: /, '').trim());

  it('answers a plain request with a chat.completion', async () => {
    await controller.create({ model: 'planner', messages: [{ role: 'user', content: 'hi' }] }, request({ 'x-agency-fr-id': 'FR-1' }), reply as unknown as FastifyReply);
    expect(reply.sentStatus).toBe(200);
    expect(reply.sentBody).toMatchObject({ object: 'chat.completion', model: 'scripted/planner', choices: [{ message: { content: 'hello world' } }], usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } });
    expect(chat.calls[0]).toMatchObject({ alias: 'planner', context: { frId: 'FR-1' } });
    expect(chat.calls[0]!.traceHeader('traceparent')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('streams role, pieces, finish, usage and [DONE]', async () => {
    await controller.create({ model: 'planner', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }, request(), reply as unknown as FastifyReply);
    expect(reply.hijacked).toBe(true);
    expect(reply.head).toMatchObject({ status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
    const e = events();
    expect(e.at(-1)).toBe('[DONE]');
    const chunks = e.slice(0, -1).map((x) => JSON.parse(x));
    expect(chunks.map((c) => c.choices[0]?.delta ?? 'usage')).toEqual([{ role: 'assistant', content: '', refusal: null }, { content: 'hello ' }, { content: 'world' }, {}, 'usage']);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(chunks[4].usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 3 });
    expect(reply.ended).toBe(true);
  });

  it('sends a failure after the stream opened as an OpenAI error event, without [DONE]', async () => {
    chat.breakAfterFirst = true;
    await controller.create({ model: 'planner', messages: [{ role: 'user', content: 'hi' }], stream: true }, request(), reply as unknown as FastifyReply);
    const e = events();
    expect(JSON.parse(e.at(-1)!)).toEqual({ error: { message: 'upstream reset', type: 'server_error', param: null, code: 'upstream_reset' } });
    expect(e).not.toContain('[DONE]');
    expect(reply.ended).toBe(true);
  });

  it('refuses a bad body before calling the service', async () => {
    await expect(controller.create({ model: 'planner', messages: 'hi' }, request(), reply as unknown as FastifyReply)).rejects.toMatchObject({ param: 'messages' });
    expect(chat.calls).toEqual([]);
  });
});
