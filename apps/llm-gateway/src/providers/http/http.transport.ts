import http from 'node:http';
import https from 'node:https';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { socketWrites } from '../../common/socket-writes.js';
import type { CallTags } from '../cassette/conversation.js';

/** One call to a vendor, already in the vendor's wire format. */
export interface UpstreamRequest {
  /** Absolute URL. */
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
  /** Longest wait for the first byte of the answer (status line included). */
  timeoutMs: number;
  /** Longest silence between two chunks once the answer flows. */
  idleTimeoutMs: number;
  /** Who made the call (never sent): cassettes record it, conversation replay matches by it. */
  tags?: CallTags;
}

/** The answer's bytes exactly as they came off the wire (chunked encoding removed). */
export interface UpstreamBody extends AsyncIterable<Buffer> {
  /** The whole body at once, without iterating chunk by chunk (cheaper for JSON answers). */
  collect?(limitBytes: number): Promise<Buffer>;
}

export interface UpstreamResponse {
  status: number;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: UpstreamBody;
}

export type TransportFailure = 'connect' | 'timeout' | 'idle-timeout' | 'reset' | 'aborted';

/** The vendor could not be reached, or the connection failed; never carries request headers. */
export class TransportError extends Error {
  constructor(
    readonly kind: TransportFailure,
    message: string,
    /** The system error code (ECONNREFUSED...), when there is one. */
    readonly errno?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** Pushes chunks to one reader (iterating, or collecting the whole body); errors end it with a throw. */
class ChunkQueue implements UpstreamBody {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private failure?: Error;
  private wake?: () => void;
  private collector?: { limit: number; resolve: (b: Buffer) => void; reject: (e: Error) => void };

  /** `cancel` runs when the reader stops before the end (the connection is then closed). */
  constructor(private readonly cancel: () => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.collector && this.size > this.collector.limit) this.cancel();
    this.notify();
  }
  end(): void {
    this.ended = true;
    this.notify();
  }
  fail(error: Error): void {
    if (this.ended) return;
    this.failure = error;
    this.ended = true;
    this.notify();
  }

  collect(limitBytes: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.collector = { limit: limitBytes, resolve, reject };
      this.notify();
    });
  }

  private notify(): void {
    const c = this.collector;
    if (c) {
      if (this.size > c.limit) c.reject(new TransportError('reset', `the answer is larger than ${c.limit} bytes`));
      else if (this.failure) c.reject(this.failure);
      else if (this.ended) c.resolve(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size));
      else return;
      this.collector = undefined;
      return;
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          yield this.chunks.shift()!;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      if (!this.ended) this.cancel();
    }
  }
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function describe(error: NodeJS.ErrnoException): string {
  return error.code ? `${error.code}` : error.message;
}

/**
 * Vendor calls over node:http(s) with keep-alive connection pools. The first-byte timer runs
 * from the call until the first byte of the body arrives (a vendor that sends headers and then
 * nothing is as dead as one that sends nothing); after that the idle timer bounds silences.
 * Every failure is a TransportError, so the router can tell "never answered" from "broke off".
 */
@Injectable()
export class HttpTransport implements OnApplicationShutdown {
  private readonly httpAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: Infinity, maxFreeSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: Infinity, maxFreeSockets: 256 });

  /** Parsed URLs: a provider calls the same few, and parsing one costs more than the rest of the setup. */
  private readonly targets = new Map<string, { secure: boolean; hostname: string; port: string; path: string; where: string; protocol: string }>();

  private target(raw: string) {
    let t = this.targets.get(raw);
    if (!t) {
      const url = new URL(raw);
      t = {
        secure: url.protocol === 'https:',
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        where: url.origin,
      };
      if (this.targets.size > 1000) this.targets.clear();
      this.targets.set(raw, t);
    }
    return t;
  }

  send(request: UpstreamRequest, signal?: AbortSignal): Promise<UpstreamResponse> {
    const url = this.target(request.url);
    const secure = url.secure;
    const client = secure ? https : http;
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
    const where = url.where;

    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (signal?.aborted) return reject(new TransportError('aborted', 'the call was cancelled before it was sent'));
      const body = new ChunkQueue(() => fail(new TransportError('aborted', 'the answer was abandoned')));
      let settled = false;
      let gotFirstByte = false;
      let timer: NodeJS.Timeout | undefined;
      const fail = (error: TransportError) => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (!settled) {
          settled = true;
          reject(error);
        } else body.fail(error);
        req.destroy();
      };
      const arm = (ms: number, make: () => TransportError) => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => fail(make()), ms);
      };
      const onAbort = () => fail(new TransportError('aborted', 'the call was cancelled'));

      const req = client.request(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port,
          path: url.path,
          method: request.method,
          headers,
          agent: secure ? this.httpsAgent : this.httpAgent,
        },
        (res) => {
          settled = true;
          // Keep only the status and the header object, never `res` itself: an upstream response
          // kept reachable past its end made V8 promote every answer's buffers to the old space
          // (5-10 KB per call), and garbage collection cost more than the rest of the gateway.
          // (Only set-cookie comes as an array, and no wire format reads it.)
          resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string | undefined>, body });
          res.on('data', (chunk: Buffer) => {
            if (!gotFirstByte) {
              gotFirstByte = true;
              arm(
                request.idleTimeoutMs,
                () => new TransportError('idle-timeout', `${where} went silent for ${request.idleTimeoutMs} ms in the middle of its answer`),
              );
            } else timer?.refresh();
            body.push(chunk);
          });
          res.on('end', () => {
            if (timer) clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            body.end();
          });
          res.on('error', (e: NodeJS.ErrnoException) =>
            fail(new TransportError('reset', `${where} closed the connection in the middle of its answer (${describe(e)})`, e.code)),
          );
        },
      );
      arm(request.timeoutMs, () => new TransportError('timeout', `${where} sent no answer within ${request.timeoutMs} ms`));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return fail(new TransportError('reset', `${where} closed the connection in the middle of its answer (${describe(e)})`, e.code));
        const kind = e.code && RESET_CODES.has(e.code) ? 'reset' : 'connect';
        fail(
          new TransportError(
            kind,
            kind === 'connect' ? `cannot connect to ${where} (${describe(e)})` : `${where} closed the connection before answering (${describe(e)})`,
            e.code,
          ),
        );
      });
      // Sent with the turn's other writes (socketWrites); a call failed or cancelled meanwhile is not sent.
      socketWrites.defer(() => {
        if (!req.destroyed) req.end(request.body);
      });
    });
  }

  onApplicationShutdown(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Reads a whole answer, refusing one bigger than `limitBytes` (a runaway vendor must not exhaust memory). */
export function readBody(body: UpstreamBody, limitBytes: number): Promise<Buffer> {
  return body.collect ? body.collect(limitBytes) : readChunks(body, limitBytes);
}

async function readChunks(body: AsyncIterable<Buffer>, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limitBytes) throw new TransportError('reset', `the answer is larger than ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
