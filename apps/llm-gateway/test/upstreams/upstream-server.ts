import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { PromptCacheStore } from './prompt-cache.js';

/** An answer the fake vendor gives (in its own wire format). */
export interface Answer {
  content?: string;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  finish?: 'stop' | 'length' | 'tool_calls';
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  cacheWriteTokens?: number;
}

/** What the fake vendor does with one request. */
export type Behaviour =
  | ({ kind: 'answer' } & Answer)
  /** An error status with the vendor's error body. */
  | { kind: 'status'; status: number; message: string; headers?: Record<string, string> }
  /** 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Holds the answer until `until` resolves (a long generation the test ends), then answers like 'answer'. */
  | ({ kind: 'held'; until: Promise<void> } & Answer)
  /**
   * A model generating slowly but steadily: streamed, one event every `everyMs`; not streamed,
   * the whole body once all of it is generated (as a vendor does).
   */
  | ({ kind: 'slow'; everyMs: number } & Answer)
  /** Streams `afterEvents` events of the answer (not streaming: half the body), then resets the connection. */
  | ({ kind: 'cut'; afterEvents: number } & Answer)
  /**
   * Streams `afterEvents` events, then ends the response cleanly without the closing events.
   * Not streaming: sends half the body, short of its content-length, then closes the connection
   * cleanly (FIN, no reset).
   */
  | ({ kind: 'truncate'; afterEvents: number } & Answer);

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  at: number;
  /** Set when the caller (the gateway) closed the request before the answer was complete: a cancel or a timeout. */
  closedEarly?: boolean;
}

/** Behaviour for the n-th request (0-based) this upstream receives. */
export type Script = (request: ReceivedRequest, n: number) => Behaviour;

export interface WireWriter {
  /** A non-streaming answer body. */
  body(answer: Answer, request: ReceivedRequest): string;
  /** The streamed answer as SSE event texts, each a complete event. */
  events(answer: Answer, request: ReceivedRequest): string[];
  /** The vendor's error body for a status. */
  error(status: number, message: string): string;
  /** Checks the request like the vendor would; a string is a 400 with that message. */
  validate(request: ReceivedRequest): string | undefined;
  /** The vendor's other endpoints (embeddings, token counting): the answer, or undefined for the chat endpoint. */
  route?(request: ReceivedRequest): { status: number; body: string } | undefined;
  /** Token counts of the request as the vendor's prompt cache gives them (startUpstream's promptCache option). */
  promptCache(request: ReceivedRequest, store: PromptCacheStore): Pick<Answer, 'inputTokens' | 'cachedTokens' | 'cacheWriteTokens'>;
}

export interface UpstreamOptions {
  port?: number;
  /**
   * Counts input tokens from the request (about 4 characters a token) and caches prompts as the
   * vendor does (prompt-cache.ts), unless the answer names its own counts.
   */
  promptCache?: boolean;
}

export interface Upstream {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  script: Script;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/**
 * A local HTTP server playing a vendor: it checks requests like the vendor does, answers in the
 * vendor's wire format (JSON or SSE, byte-realistic) and can misbehave on demand.
 */
export async function startUpstream(wire: WireWriter, script: Script, options: UpstreamOptions = {}): Promise<Upstream> {
  const port = options.port ?? 0;
  const cache: PromptCacheStore = new Map();
  const sockets = new Set<Socket>();
  const upstream: Upstream = { url: '', port: 0, requests: [], script, close: async () => undefined };
  const server: Server = createServer((req, res) => void handle(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request: ReceivedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: await readJson(req), at: Date.now() };
    const n = upstream.requests.length;
    upstream.requests.push(request);
    res.on('close', () => {
      if (!res.writableFinished) request.closedEarly = true;
    });
    const other = wire.route?.(request);
    if (other) return void res.writeHead(other.status, { 'content-type': 'application/json' }).end(other.body);
    const invalid = wire.validate(request);
    if (invalid) return void res.writeHead(400, { 'content-type': 'application/json' }).end(wire.error(400, invalid));
    const scripted = upstream.script(request, n);
    const answers =
      scripted.kind === 'answer' || scripted.kind === 'held' || scripted.kind === 'slow' || scripted.kind === 'cut' || scripted.kind === 'truncate';
    const b: Behaviour = options.promptCache && answers ? { ...wire.promptCache(request, cache), ...scripted } : scripted;
    const stream = request.body.stream === true;
    switch (b.kind) {
      case 'status':
        res.writeHead(b.status, { 'content-type': 'application/json', ...b.headers }).end(wire.error(b.status, b.message));
        return;
      case 'malformed':
        res
          .writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' })
          .end(stream ? 'data: {"id": "x", "choices": [\n\n' : '{"id": "chatcmpl-x", "choices": [');
        return;
      case 'hang':
        return;
      case 'slow': {
        const events = wire.events(b, request);
        if (stream) return writeEvents(res, events, b.everyMs);
        await new Promise((r) => setTimeout(r, b.everyMs * events.length));
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(wire.body(b, request));
        return;
      }
      case 'held':
        await b.until;
        if (res.destroyed) return;
        return answer(res, b, request, stream);
      case 'answer':
        return answer(res, b, request, stream);
      case 'cut':
      case 'truncate': {
        const events = wire.events(b, request).slice(0, b.afterEvents);
        if (!stream) {
          const body = wire.body(b, request);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
          res.write(body.slice(0, body.length / 2));
        } else {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          for (const e of events) res.write(e);
        }
        // Let the bytes leave before the connection goes.
        await new Promise((r) => setTimeout(r, 20));
        if (b.kind === 'cut') res.socket?.resetAndDestroy();
        else if (stream) res.end();
        else res.socket?.end();
        return;
      }
    }
  }

  function answer(res: ServerResponse, a: Answer, request: ReceivedRequest, stream: boolean): void | Promise<void> {
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(wire.body(a, request));
      return;
    }
    return writeEvents(res, wire.events(a, request));
  }

  async function writeEvents(res: ServerResponse, events: string[], everyMs = 0): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const e of events) {
      if (res.destroyed) return;
      res.write(e);
      // Separate TCP writes, as a vendor's token stream arrives.
      await new Promise((r) => (everyMs ? setTimeout(r, everyMs) : setImmediate(r)));
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  upstream.port = typeof address === 'object' && address ? address.port : 0;
  upstream.url = `http://127.0.0.1:${upstream.port}`;
  upstream.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return upstream;
}

/** Splits a text into pieces of `size` characters, as a vendor streams tokens. */
export function pieces(text: string, size = 5): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
