import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface FakeLlmCall {
  model: string;
  messages: Array<{ role: string; content: string }>;
  json: boolean;
  headers: IncomingHttpHeaders;
}

/** What the fake answers: assistant content, or an HTTP error. */
export type FakeLlmReply = string | { status: number; message: string };

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
 * (checked by the real `openai` client inside LlmClient), answering from a test's script.
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
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: FakeLlmCall['messages']; response_format?: { type: string } };
      const call: FakeLlmCall = { model: body.model, messages: body.messages, json: body.response_format?.type === 'json_object', headers: req.headers };
      fake.calls.push(call);
      const reply = fake.respond(call);
      if (typeof reply !== 'string') return send(reply.status, { error: { message: reply.message, type: 'server_error' } });
      send(200, {
        id: `chatcmpl-${fake.calls.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: `fake/${body.model}`,
        choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, finish_reason: 'stop', logprobs: null }],
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
