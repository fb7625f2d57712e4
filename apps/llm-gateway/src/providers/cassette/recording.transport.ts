import { TransportError, type HttpTransport, type UpstreamRequest, type UpstreamResponse } from '../http/http.transport.js';
import { encodeChunk, KEPT_HEADERS, requestKey, type CassetteExchange, type CassetteWire } from './cassette.js';

export interface CassetteSink {
  append(file: string, exchange: CassetteExchange): Promise<void>;
}

/**
 * Passes calls to the real transport and writes each exchange to the cassette once it is over:
 * the request body, the status, the headers the wire formats read and every chunk exactly as it
 * came, or the connection failure. Request headers (the vendor key) are never written.
 */
export class RecordingTransport {
  constructor(
    private readonly inner: Pick<HttpTransport, 'send'>,
    private readonly sink: CassetteSink,
    private readonly file: string,
    private readonly provider: string,
    private readonly wire: CassetteWire,
    private readonly now: () => Date,
    /** Told when a line cannot be written (the call itself still succeeds). */
    private readonly onWriteError: (error: Error) => void,
  ) {}

  async send(request: UpstreamRequest, signal?: AbortSignal): Promise<UpstreamResponse> {
    const path = new URL(request.url).pathname;
    const body = request.body ?? '';
    const base = {
      cassette: 1 as const,
      provider: this.provider,
      wire: this.wire,
      key: requestKey(body),
      request: { method: request.method, path, body: parseOrText(body) },
      ...(request.tags ? { call: request.tags } : {}),
    };
    let response: UpstreamResponse;
    try {
      response = await this.inner.send(request, signal);
    } catch (e) {
      if (e instanceof TransportError) this.write({ ...base, error: failure(e), recordedAt: this.now().toISOString() });
      throw e;
    }
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) if (response.headers[name] !== undefined) headers[name] = response.headers[name]!;
    const chunks: Buffer[] = [];
    const write = (error?: CassetteExchange['error']) =>
      this.write({
        ...base,
        response: { status: response.status, headers, chunks: chunks.map(encodeChunk) },
        ...(error ? { error } : {}),
        recordedAt: this.now().toISOString(),
      });
    const source = response.body;
    async function* tee(): AsyncIterable<Buffer> {
      let finished = false;
      try {
        for await (const chunk of source) {
          chunks.push(chunk);
          yield chunk;
        }
        finished = true;
        write();
      } catch (e) {
        finished = true;
        write(e instanceof TransportError ? failure(e) : { kind: 'reset', message: (e as Error).message });
        throw e;
      } finally {
        if (!finished) write({ kind: 'aborted', message: 'the gateway stopped reading the answer' });
      }
    }
    return { status: response.status, headers: response.headers, body: tee() };
  }

  private write(exchange: CassetteExchange): void {
    this.sink.append(this.file, exchange).catch((e: unknown) => this.onWriteError(e as Error));
  }
}

function failure(e: TransportError): NonNullable<CassetteExchange['error']> {
  return { kind: e.kind, message: e.message, ...(e.errno ? { errno: e.errno } : {}) };
}

/** The request body as JSON when it is JSON (readable cassettes), else as text. */
function parseOrText(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
