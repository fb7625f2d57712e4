import {
  ProviderError,
  type LlmCallLimits,
  type LlmChatRequest,
  type LlmChatResponse,
  type LlmEmbedRequest,
  type LlmEmbedResponse,
  type LlmProvider,
  type LlmStreamEvent,
} from '../llm-provider.js';
import type { WireRequest } from '../wire/wire-format.js';
import { WireError, type WireFormat } from '../wire/wire-format.js';
import { readBody, TransportError, type HttpTransport, type UpstreamResponse } from './http.transport.js';
import { SseDecoder, type SseEvent } from './sse.decoder.js';
import { malformedError, statusError, transportError } from './upstream-errors.js';

export interface HttpProviderTimeouts {
  timeoutMs: number;
  idleTimeoutMs: number;
  /** The largest answer read whole (non-streaming, and error bodies). */
  maxBodyBytes: number;
  /**
   * Answer a non-streaming call from a streamed answer, assembled: the first-byte timeout then
   * bounds only the wait for the answer to start, and a long answer still coming is never cut.
   * 'auto': only for an answer that may outlast the first-byte timeout (streamsUpstream).
   */
  streamUpstream: boolean | 'auto';
}

export const DEFAULT_TIMEOUTS: HttpProviderTimeouts = { timeoutMs: 60_000, idleTimeoutMs: 120_000, maxBodyBytes: 32 * 1024 * 1024, streamUpstream: 'auto' };

/**
 * The slowest output a vendor is assumed to keep up, in tokens per second: an answer bounded to
 * fewer tokens than the first-byte timeout allows at this pace comes whole before that timeout.
 */
export const SLOWEST_TOKENS_PER_SECOND = 16;

/**
 * Whether a non-streaming call is asked of the vendor as a stream. A stream costs the gateway a
 * JSON parse per piece (a fifth of its CPU for a short answer, bench/results/llm-gateway.md), and
 * is needed only when the whole answer may take longer than the first-byte timeout: a call with
 * no output bound, or a bound the vendor may not reach within `firstByteMs` at
 * SLOWEST_TOKENS_PER_SECOND. (A call without max_tokens that a wire fills in, Anthropic's default
 * 4096, is streamed.)
 */
export function streamsUpstream(setting: boolean | 'auto', maxTokens: number | undefined, firstByteMs: number): boolean {
  if (setting !== 'auto') return setting;
  return maxTokens === undefined || maxTokens > (firstByteMs / 1000) * SLOWEST_TOKENS_PER_SECOND;
}
/** An error body is only quoted: no need to read much of it. */
const ERROR_BODY_BYTES = 64 * 1024;

/**
 * A vendor reached over HTTP: the wire format (OpenAI's or Anthropic's) builds the request and
 * reads the answer, the transport moves the bytes (straight, or through a cassette recorder or
 * player). Every failure leaves as a ProviderError that says whether to retry or fall back.
 */
export class HttpProvider implements LlmProvider {
  readonly type: string;

  constructor(
    readonly name: string,
    private readonly wire: WireFormat,
    private readonly transport: Pick<HttpTransport, 'send'>,
    private readonly timeouts: HttpProviderTimeouts,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.type = wire.type;
    const embeddings = wire.embeddings;
    if (embeddings)
      this.embed = (request, signal, limits = {}) =>
        this.json(embeddings.request(request), signal, limits, (body) => embeddings.response(body, request), request);
    const count = wire.tokenCount;
    if (count) this.countTokens = (request, signal) => this.json(count.request(request), signal, {}, (body) => count.response(body), request);
  }

  readonly embed?: (request: LlmEmbedRequest, signal?: AbortSignal, limits?: LlmCallLimits) => Promise<LlmEmbedResponse>;
  readonly countTokens?: (request: LlmChatRequest, signal?: AbortSignal) => Promise<number>;

  /** A plain JSON exchange (embeddings, token counts): sent, checked and read like a chat answer. */
  private async json<T>(
    wire: WireRequest,
    signal: AbortSignal | undefined,
    limits: LlmCallLimits,
    read: (body: Buffer, response: UpstreamResponse) => T,
    call: { alias: string; context: LlmChatRequest['context'] },
  ): Promise<T> {
    const response = await this.sendWire(wire, call, signal, limits);
    const body = await this.whole(response);
    return this.read(() => read(body, response));
  }

  /** The whole body of an answer, a transport failure as a ProviderError. */
  private async whole(response: UpstreamResponse): Promise<Buffer> {
    try {
      return await readBody(response.body, this.timeouts.maxBodyBytes);
    } catch (e) {
      throw this.mapped(e);
    }
  }

  async chat(request: LlmChatRequest, signal?: AbortSignal, limits: LlmCallLimits = {}): Promise<LlmChatResponse> {
    const stream = streamsUpstream(this.timeouts.streamUpstream, request.maxTokens, this.firstByteTimeoutMs(limits));
    const response = await this.sendWire(this.wire.request(request, stream), request, signal, limits);
    // A JSON answer to a stream request is accepted (some compatible servers ignore stream), and
    // a stream to a JSON request too (a cassette recorded with another setting).
    if (!isEventStream(response)) return this.onePiece(response, request, stream);
    // Only the whole answer is wanted: the events are read as they come (a broken stream still
    // fails at once), without handing each piece through an async generator.
    const reader = this.wire.streamReader(request);
    await this.events(response, (event) => void this.read(() => reader.read(event)));
    return stamped(
      this.read(() => reader.finish()),
      response,
    );
  }

  async *stream(request: LlmChatRequest, signal?: AbortSignal, limits: LlmCallLimits = {}): AsyncIterable<LlmStreamEvent> {
    const response = await this.sendWire(this.wire.request(request, true), request, signal, limits);
    if (!isEventStream(response)) {
      // Some compatible servers ignore stream: true and answer in one piece: accept that.
      yield* piecesOf(await this.onePiece(response, request, true));
      return;
    }
    const reader = this.wire.streamReader(request);
    const decoder = new SseDecoder();
    const iterator = response.body[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.nextChunk(iterator);
        const events = next.done ? decoder.end() : decoder.push(next.value);
        for (const event of events) {
          for (const piece of this.read(() => reader.read(event))) {
            // Only the first event is a start; the rest pass through untouched.
            yield piece.kind === 'start' && piece.created === undefined ? stampedStart(piece, response) : piece;
          }
        }
        if (next.done) break;
      }
    } finally {
      await iterator.return?.();
    }
    yield {
      kind: 'end',
      response: stamped(
        this.read(() => reader.finish()),
        response,
      ),
    };
  }

  /** Feeds every server-sent event of the answer to `each`, as its bytes arrive. */
  private async events(response: UpstreamResponse, each: (event: SseEvent) => void): Promise<void> {
    const decoder = new SseDecoder();
    const iterator = response.body[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.nextChunk(iterator);
        for (const event of next.done ? decoder.end() : decoder.push(next.value)) each(event);
        if (next.done) return;
      }
    } finally {
      await iterator.return?.();
    }
  }

  private async nextChunk(iterator: AsyncIterator<Buffer>): Promise<IteratorResult<Buffer>> {
    try {
      return await iterator.next();
    } catch (e) {
      throw this.mapped(e);
    }
  }

  /** An answer in one piece (JSON), as the whole answer; `askedStream`: it came to a stream request. */
  private async onePiece(response: UpstreamResponse, request: LlmChatRequest, askedStream: boolean): Promise<LlmChatResponse> {
    const body = await this.whole(response);
    try {
      return stamped(this.wire.response(body, request), response);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      const contentType = response.headers['content-type'] ?? '';
      throw malformedError(this.name, askedStream ? `asked for a stream, got ${contentType || 'no content type'}: ${e.message}` : e.message);
    }
  }

  /** The first-byte timeout of a call: the provider's, or less when the call's deadline leaves less. */
  private firstByteTimeoutMs(limits: LlmCallLimits): number {
    const cut = limits.firstByteTimeoutMs;
    return cut !== undefined && cut < this.timeouts.timeoutMs ? cut : this.timeouts.timeoutMs;
  }

  private async sendWire(
    wire: WireRequest,
    request: { alias: string; context: LlmChatRequest['context'] },
    signal: AbortSignal | undefined,
    limits: LlmCallLimits,
  ): Promise<UpstreamResponse> {
    // The call's deadline may leave less than the provider's own first-byte timeout.
    const timeoutMs = this.firstByteTimeoutMs(limits);
    const cut = timeoutMs < this.timeouts.timeoutMs;
    let response: UpstreamResponse;
    try {
      const tags = {
        alias: request.alias,
        ...(request.context.frId ? { frId: request.context.frId } : {}),
        ...(request.context.step ? { step: request.context.step } : {}),
      };
      response = await this.transport.send(
        { url: wire.url, method: 'POST', headers: wire.headers, body: wire.body, timeoutMs, idleTimeoutMs: this.timeouts.idleTimeoutMs, tags },
        signal,
      );
    } catch (e) {
      // Not the target's fault: the call ran out of time (its circuit breaker is left alone).
      if (cut && e instanceof TransportError && e.kind === 'timeout') {
        throw new ProviderError(
          `provider "${this.name}" had not started its answer when the call's deadline came (${timeoutMs} ms left for it)`,
          504,
          'deadline_exceeded',
          false,
        );
      }
      throw this.mapped(e);
    }
    if (response.status >= 200 && response.status < 300) return response;
    const body = await readBody(response.body, ERROR_BODY_BYTES).catch(() => Buffer.from(''));
    throw statusError(this.name, response.status, body, response.headers, this.nowMs());
  }

  /** A transport failure as a ProviderError; anything else as it is. */
  private mapped(e: unknown): unknown {
    return e instanceof TransportError ? transportError(this.name, e) : e;
  }

  private read<T>(step: () => T): T {
    try {
      return step();
    } catch (e) {
      if (e instanceof WireError) throw malformedError(this.name, e.message);
      throw e;
    }
  }
}

/**
 * When the answer was made, in Unix seconds, for a vendor whose body says nothing of it
 * (Anthropic): its HTTP `Date` header. Cassettes keep that header, so a replayed call stamps the
 * answer with the recorded time and replays byte for byte; a vendor that sends no Date leaves it
 * to the gateway's clock.
 */
export function dateOf(headers: UpstreamResponse['headers']): number | undefined {
  const raw = headers.date;
  if (!raw) return undefined;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

function isEventStream(response: UpstreamResponse): boolean {
  return (response.headers['content-type'] ?? '').includes('text/event-stream');
}

function stamped(answer: LlmChatResponse, response: UpstreamResponse): LlmChatResponse {
  if (answer.created !== undefined) return answer;
  const created = dateOf(response.headers);
  return created === undefined ? answer : { ...answer, created };
}

function stampedStart(start: Extract<LlmStreamEvent, { kind: 'start' }>, response: UpstreamResponse): LlmStreamEvent {
  const created = dateOf(response.headers);
  return created === undefined ? start : { ...start, created };
}

/** A whole answer as stream events, for servers that answered a stream request in one piece. */
export function* piecesOf(response: LlmChatResponse): Iterable<LlmStreamEvent> {
  yield { kind: 'start', ...(response.id ? { id: response.id } : {}), ...(response.created !== undefined ? { created: response.created } : {}) };
  if (response.content) yield { kind: 'text', text: response.content };
  for (const [index, call] of response.toolCalls.entries()) {
    yield { kind: 'tool-call-start', index, id: call.id, name: call.name };
    yield { kind: 'tool-call-args', index, arguments: call.arguments };
  }
  yield { kind: 'end', response };
}
