import { basename } from 'node:path';
import { TransportError, type UpstreamRequest, type UpstreamResponse } from '../http/http.transport.js';
import { ProviderError } from '../llm-provider.js';
import { decodeChunk, requestKey, type CassetteExchange } from './cassette.js';
import { describeKey, keyOf, keyText, shapeDifference, shapeOf, type ConversationKey, type ConversationShape } from './conversation.js';

export interface CassetteSource {
  load(file: string): CassetteExchange[];
}

/**
 * How a replayed request finds its recording: `exact`, by the sha256 of the request body (byte
 * for byte; the gateway's own tests); `conversation`, by FR, role (the x-agency-step header's
 * family, else the alias), round and attempt (from the step header) and turn (assistant messages
 * before it), then checked to be the same conversation (the same tool calls at every turn, the
 * same shape of messages), whatever the texts and tool results say.
 */
export const REPLAY_MATCHES = ['exact', 'conversation'] as const;
export type ReplayMatch = (typeof REPLAY_MATCHES)[number];

interface Indexed {
  exchange: CassetteExchange;
  key: string;
  conversation?: { key: ConversationKey; shape: ConversationShape };
}

/**
 * Serves a cassette instead of the network. Requests that match the same recorded call get its
 * recorded exchanges in order (a retried call meets the 429 it met when recorded, then the
 * answer), and the last one again once they run out. The answer is the recorded bytes, chunk by
 * chunk; a recorded connection failure fails the same way. A request with no recording is a 422
 * `cassette_no_match` that says what differed.
 */
export class ReplayTransport {
  private seen?: CassetteExchange[];
  private index: Indexed[] = [];
  private readonly served = new Map<string, number>();

  constructor(
    private readonly provider: string,
    private readonly file: string,
    private readonly cassettes: CassetteSource,
    private readonly match: ReplayMatch = 'exact',
  ) {}

  async send(request: UpstreamRequest, signal?: AbortSignal): Promise<UpstreamResponse> {
    if (signal?.aborted) throw new TransportError('aborted', 'the call was cancelled before it was sent');
    const exchanges = this.cassettes.load(this.file);
    // A new recording restarts the counters.
    if (exchanges !== this.seen) {
      this.seen = exchanges;
      this.index = exchanges.map((exchange) => this.indexed(exchange));
      this.served.clear();
    }
    const { key, matches } = this.match === 'exact' ? this.exact(request) : this.conversation(request);
    const n = this.served.get(key) ?? 0;
    this.served.set(key, n + 1);
    return play(matches[Math.min(n, matches.length - 1)]!);
  }

  private indexed(exchange: CassetteExchange): Indexed {
    if (this.match === 'exact') return { exchange, key: exchange.key };
    const shape = shapeOf(exchange.request.body);
    const key = keyOf(exchange.call, shape);
    return { exchange, key: keyText(key), conversation: { key, shape } };
  }

  private noMatch(why: string): ProviderError {
    return new ProviderError(
      `replay provider "${this.provider}": ${basename(this.file)} ${why}; the run took a different path than the recording`,
      422,
      'cassette_no_match',
      false,
    );
  }

  private exact(request: UpstreamRequest): { key: string; matches: CassetteExchange[] } {
    const key = requestKey(request.body ?? '');
    const matches = this.index.filter((e) => e.key === key).map((e) => e.exchange);
    if (matches.length === 0)
      throw this.noMatch(`has no recorded exchange for this request (sha256 ${key.slice(0, 12)}, ${this.index.length} exchanges recorded)`);
    return { key, matches };
  }

  private conversation(request: UpstreamRequest): { key: string; matches: CassetteExchange[] } {
    let body: unknown;
    try {
      body = JSON.parse(request.body ?? '');
    } catch {
      body = undefined;
    }
    const shape = shapeOf(body);
    const key = keyOf(request.tags, shape);
    const text = keyText(key);
    const matches = this.index.filter((e) => e.key === text);
    if (matches.length === 0) throw this.noMatch(`has no recorded call for ${describeKey(key)} (${this.nearest(key)})`);
    const difference = shapeDifference(matches[0]!.conversation!.shape, shape);
    if (difference) throw this.noMatch(`recorded ${describeKey(key)} as another conversation: ${difference}`);
    return { key: text, matches: matches.map((e) => e.exchange) };
  }

  /** What the cassette holds closest to a key it lacks: the turns of that step, the rounds of that role... */
  private nearest(key: ConversationKey): string {
    const recorded = this.index.map((e) => e.conversation!.key);
    const same = (k: ConversationKey, fields: Array<keyof ConversationKey>) => fields.every((f) => k[f] === key[f]);
    const list = (values: Array<string | number | undefined>) => [...new Set(values.map((v) => (v === undefined ? 'none' : String(v))))].join(', ');
    const step = recorded.filter((k) => same(k, ['frId', 'role', 'round', 'attempt']));
    if (step.length) return `recorded turns of ${describeKey({ ...key, turn: undefined })}: ${list(step.map((k) => k.turn))}`;
    const role = recorded.filter((k) => same(k, ['frId', 'role']));
    if (role.length)
      return `recorded rounds and attempts of ${describeKey({ frId: key.frId, role: key.role })}: ${list(role.map((k) => `${k.round ?? '-'}/${k.attempt ?? '-'}`))}`;
    const fr = recorded.filter((k) => k.frId === key.frId);
    if (fr.length) return `recorded roles of ${key.frId || '(no FR)'}: ${list(fr.map((k) => k.role))}`;
    return `recorded FRs: ${list(recorded.map((k) => k.frId || '(no FR)')) || 'none'}`;
  }
}

/** The recorded answer, chunk by chunk, or the recorded connection failure. */
function play(exchange: CassetteExchange): UpstreamResponse {
  const { response, error } = exchange;
  if (!response) throw new TransportError(error!.kind, error!.message, error!.errno);
  const chunks = response.chunks.map(decodeChunk);
  async function* body(): AsyncIterable<Buffer> {
    for (const chunk of chunks) yield chunk;
    if (error) throw new TransportError(error.kind, error.message, error.errno);
  }
  return { status: response.status, headers: response.headers, body: body() };
}
