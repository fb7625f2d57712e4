import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

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
}

export interface FakeLlmRequest {
  model: string;
  messages: Array<Omit<FakeLlmMessage, 'content'> & { content: string | null }>;
  response_format?: { type: string };
  temperature?: number;
  max_tokens?: number;
  tools?: Array<{ type: string; function: { name: string } }>;
}

/** What the fake answers: assistant content, function calls (OpenAI's tool_calls), or an HTTP error. */
export type FakeLlmReply = string | { toolCalls: Array<{ name: string; arguments: unknown }>; content?: string } | { status: number; message: string };

export interface FakeLlm {
  /** Base URL for LLM_GATEWAY_URL (ends in /v1). */
  url: string;
  calls: FakeLlmCall[];
  /** Decides each answer; the default answers 500, so an unscripted call shows up as a failure. */
  respond: (call: FakeLlmCall) => FakeLlmReply;
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
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return send(404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      if (req.headers.authorization !== `Bearer ${apiKey}`) return send(401, { error: { message: 'invalid api key', type: 'authentication_error' } });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeLlmRequest;
      const messages = body.messages.map((m) => ({ ...m, content: m.content ?? '' }));
      const call: FakeLlmCall = { model: body.model, messages, json: body.response_format?.type === 'json_object', tools: (body.tools ?? []).map((t) => t.function.name), headers: req.headers, body };
      fake.calls.push(call);
      const reply = fake.respond(call);
      if (typeof reply !== 'string' && 'status' in reply) return send(reply.status, { error: { message: reply.message, type: 'server_error' } });
      const message =
        typeof reply === 'string'
          ? { role: 'assistant', content: reply, refusal: null }
          : {
              role: 'assistant',
              content: reply.content ?? null,
              refusal: null,
              tool_calls: reply.toolCalls.map((c, i) => ({ id: `call_${fake.calls.length}_${i}`, type: 'function', function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) } })),
            };
      send(200, {
        id: `chatcmpl-${fake.calls.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: `fake/${body.model}`,
        choices: [{ index: 0, message, finish_reason: typeof reply === 'string' ? 'stop' : 'tool_calls', logprobs: null }],
        usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  fake.url = `http://127.0.0.1:${port}/v1`;
  return fake;
}
