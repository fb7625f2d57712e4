import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '@agency/testing';
import { HttpTransport, readBody, TransportError, type UpstreamRequest } from '../src/providers/http/http.transport.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('HttpTransport over real sockets', () => {
  let server: Server;
  let port: number;
  let handler: Handler;
  const sockets = new Set<Socket>();
  const transport = new HttpTransport();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        (req as IncomingMessage & { text: string }).text = body;
        handler(req, res);
      });
    });
    server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    transport.onApplicationShutdown();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  const request = (over: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' },
    body: '{"model":"m"}',
    timeoutMs: 2000,
    idleTimeoutMs: 2000,
    ...over,
  });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('expected a failure'),
      (e: unknown) => e as TransportError,
    );

  it('sends the body with its length and headers, and reads the answer (whole, or chunk by chunk)', async () => {
    handler = (req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json', 'retry-after': '3' })
        .end(JSON.stringify({ got: (req as IncomingMessage & { text: string }).text, auth: req.headers.authorization, length: req.headers['content-length'] }));
    const r = await transport.send(request());
    expect(r.status).toBe(200);
    expect(r.headers['retry-after']).toBe('3');
    expect(JSON.parse((await readBody(r.body, 1000)).toString())).toEqual({ got: '{"model":"m"}', auth: 'Bearer sk-x', length: '13' });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      setTimeout(() => res.end('data: 2\n\n'), 20);
    };
    const chunks: string[] = [];
    for await (const c of (await transport.send(request())).body) chunks.push(c.toString());
    expect(chunks).toEqual(['data: 1\n\n', 'data: 2\n\n']);
  });

  it('names a refused connection, a first-byte timeout and a silence mid-answer', async () => {
    const closed = await freePort();
    expect(await failure(transport.send(request({ url: `http://127.0.0.1:${closed}/v1/x` })))).toMatchObject({
      kind: 'connect',
      errno: 'ECONNREFUSED',
      message: `cannot connect to http://127.0.0.1:${closed} (ECONNREFUSED)`,
    });

    handler = () => undefined;
    expect(await failure(transport.send(request({ timeoutMs: 100 })))).toMatchObject({
      kind: 'timeout',
      message: `http://127.0.0.1:${port} sent no answer within 100 ms`,
    });

    // Headers at once but no body is still "no answer".
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
    const headersOnly = await transport.send(request({ timeoutMs: 100 }));
    expect(await failure(readBody(headersOnly.body, 1000))).toMatchObject({ kind: 'timeout' });

    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    };
    const stalled = await transport.send(request({ idleTimeoutMs: 100 }));
    expect(await failure(readBody(stalled.body, 1000))).toMatchObject({
      kind: 'idle-timeout',
      message: `http://127.0.0.1:${port} went silent for 100 ms in the middle of its answer`,
    });
  });

  it('reports a connection reset in the middle of an answer, and refuses an answer over the limit', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
    };
    const cut = await transport.send(request());
    expect(await failure(readBody(cut.body, 1000))).toMatchObject({ kind: 'reset' });

    handler = (_req, res) => res.writeHead(200).end('x'.repeat(5000));
    expect(await failure(readBody((await transport.send(request())).body, 100))).toMatchObject({
      kind: 'reset',
      message: 'the answer is larger than 100 bytes',
    });
  });

  it('stops when the caller aborts', async () => {
    handler = () => undefined;
    const abort = new AbortController();
    const pending = transport.send(request(), abort.signal);
    setTimeout(() => abort.abort(), 20);
    expect(await failure(pending)).toMatchObject({ kind: 'aborted' });
  });
});
