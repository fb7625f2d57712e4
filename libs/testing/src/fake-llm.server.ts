import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FakeLlmMessage {
  role: string;
  content: string;
  tool_call_id?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
}

export interface FakeLlmCall {
  model: string;
  messages: FakeLlmMessage[];
  json: boolean;
  /** Names of the tools the request offered. */
  tools: string[];
  headers: IncomingHttpHeaders;
  /** The request body as sent (model, messages with their content, response_format, temperature...). */
  body: FakeLlmRequest;
  /** Set when the client closed the connection before the answer was complete (a timeout or a cancel). */
  abandoned: boolean;
}

export interface FakeLlmRequest {
  model: string;
  messages: Array<Omit<FakeLlmMessage, 'content'> & { content: string | null }>;
  response_format?: { type: string };
  temperature?: number;
  max_tokens?: number;
  tools?: Array<{ type: string; function: { name: string } }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

/** An answer with its streaming behaviour (streamed requests only): pacing, a stall, cached tokens. */
export interface FakeLlmAnswer {
  content?: string;
  toolCalls?: Array<{ name: string; arguments: unknown }>;
  /** Pause between streamed chunks. */
  chunkDelayMs?: number;
  /** Content is sent in chunks of this many characters (default 16). */
  chunkChars?: number;
  /** Stop sending (but keep the connection open) after this many chunks. */
  stallAfterChunks?: number;
  usage?: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number };
}

/**
 * What the fake answers: assistant content, function calls (OpenAI's tool_calls), an HTTP error,
 * or nothing at all (`hang`: the request stays open until the client gives up).
 */
export type FakeLlmReply = string | FakeLlmAnswer | { status: number; message: string } | { hang: true };

export interface FakeLlm {
  /** Base URL for LLM_GATEWAY_URL (ends in /v1). */
  url: string;
  calls: FakeLlmCall[];
  /** Decides each answer (it may take its time: a test holds a call until something happened); the default answers 500, so an unscripted call shows up as a failure. */
  respond: (call: FakeLlmCall) => FakeLlmReply | Promise<FakeLlmReply>;
  close(): Promise<void>;
}

/**
 * A small stand-in for the LLM gateway speaking OpenAI's /v1/chat/completions wire format
 * (checked by the real `openai` client inside LlmClient), answering from a test's script. For
 * the services' medium tests; the gateway's own tests use its vendor upstreams instead.
 */
export async function startFakeLlm(apiKey: string): Promise<FakeLlm> {
  const fake: FakeLlm = {
    url: '',
    calls: [],
    respond: () => ({ status: 500, message: 'no scripted answer' }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Hung and stalled answers are open connections: they must not hold the close.
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
        return send(404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      if (req.headers.authorization !== `Bearer ${apiKey}`) return send(401, { error: { message: 'invalid api key', type: 'authentication_error' } });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeLlmRequest;
      const messages = body.messages.map((m) => ({ ...m, content: m.content ?? '' }));
      const call: FakeLlmCall = {
        model: body.model,
        messages,
        json: body.response_format?.type === 'json_object',
        tools: (body.tools ?? []).map((t) => t.function.name),
        headers: req.headers,
        body,
        abandoned: false,
      };
      fake.calls.push(call);
      res.on('close', () => {
        if (!res.writableFinished) call.abandoned = true;
      });
      const reply = await fake.respond(call);
      if (typeof reply !== 'string' && 'hang' in reply) return;
      if (typeof reply !== 'string' && 'status' in reply) return send(reply.status, { error: { message: reply.message, type: 'server_error' } });
      const answer: FakeLlmAnswer = typeof reply === 'string' ? { content: reply } : reply;
      const id = `chatcmpl-${fake.calls.length}`;
      const toolCalls = (answer.toolCalls ?? []).map((c, i) => ({
        id: `call_${fake.calls.length}_${i}`,
        type: 'function' as const,
        function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
      }));
      const finish = toolCalls.length > 0 ? 'tool_calls' : 'stop';
      const u = answer.usage ?? { prompt_tokens: 100, completion_tokens: 50 };
      const usage = {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.prompt_tokens + u.completion_tokens,
        ...(u.cached_tokens ? { prompt_tokens_details: { cached_tokens: u.cached_tokens } } : {}),
      };
      if (body.stream)
        return void streamAnswer(res, {
          id,
          model: `fake/${body.model}`,
          answer,
          toolCalls,
          finish,
          usage: body.stream_options?.include_usage ? usage : undefined,
        });
      send(200, {
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: `fake/${body.model}`,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer.content ?? null, refusal: null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
            finish_reason: finish,
            logprobs: null,
          },
        ],
        usage,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  fake.url = `http://127.0.0.1:${port}/v1`;
  return fake;
}

interface StreamPlan {
  id: string;
  model: string;
  answer: FakeLlmAnswer;
  toolCalls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  finish: string;
  usage: Record<string, unknown> | undefined;
}

/** OpenAI's chunk stream: role, content pieces, tool call deltas, the finish, usage, [DONE]. */
async function streamAnswer(res: ServerResponse, plan: StreamPlan): Promise<void> {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
    id: plan.id,
    object: 'chat.completion.chunk',
    created,
    model: plan.model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...extra,
  });
  const events: unknown[] = [chunk({ role: 'assistant', content: '' })];
  const text = plan.answer.content ?? '';
  const size = plan.answer.chunkChars ?? 16;
  for (let i = 0; i < text.length; i += size) events.push(chunk({ content: text.slice(i, i + size) }));
  plan.toolCalls.forEach((c, index) => {
    events.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }));
    events.push(chunk({ tool_calls: [{ index, function: { arguments: c.function.arguments } }] }));
  });
  events.push(chunk({}, plan.finish));
  if (plan.usage) events.push({ id: plan.id, object: 'chat.completion.chunk', created, model: plan.model, choices: [], usage: plan.usage });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [n, event] of events.entries()) {
    if (plan.answer.stallAfterChunks !== undefined && n >= plan.answer.stallAfterChunks) return;
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(event)}\n\n`);
    if (plan.answer.chunkDelayMs) await sleep(plan.answer.chunkDelayMs);
  }
  res.end('data: [DONE]\n\n');
}
