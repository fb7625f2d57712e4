import { basename } from 'node:path';
import { TransportError, type UpstreamRequest, type UpstreamResponse } from '../http/http.transport.js';
import { ProviderError } from '../llm-provider.js';
import { decodeChunk, requestKey, type CassetteExchange } from './cassette.js';

export interface CassetteSource {
  load(file: string): CassetteExchange[];
}

/**
 * Serves a cassette instead of the network. A request is matched by the sha256 of its body;
 * requests with the same body get the recorded exchanges in order (a retried call meets the 429
 * it met when recorded, then the answer), and the last one again once they run out. The answer
 * is the recorded bytes, chunk by chunk; a recorded connection failure fails the same way.
 */
export class ReplayTransport {
  private seen?: CassetteExchange[];
  private readonly served = new Map<string, number>();

  constructor(
    private readonly provider: string,
    private readonly file: string,
    private readonly cassettes: CassetteSource,
  ) {}

  async send(request: UpstreamRequest, signal?: AbortSignal): Promise<UpstreamResponse> {
    if (signal?.aborted) throw new TransportError('aborted', 'the call was cancelled before it was sent');
    const exchanges = this.cassettes.load(this.file);
    // A new recording restarts the counters.
    if (exchanges !== this.seen) {
      this.seen = exchanges;
      this.served.clear();
    }
    const key = requestKey(request.body ?? '');
    const matches = exchanges.filter((e) => e.key === key);
    if (matches.length === 0) {
      throw new ProviderError(
        `replay provider "${this.provider}": ${basename(this.file)} has no recorded exchange for this request (sha256 ${key.slice(0, 12)}, ${exchanges.length} exchanges recorded); the run took a different path than the recording`,
        422,
        'cassette_no_match',
        false,
      );
    }
    const n = this.served.get(key) ?? 0;
    this.served.set(key, n + 1);
    const exchange = matches[Math.min(n, matches.length - 1)]!;
    const { response, error } = exchange;
    if (!response) throw new TransportError(error!.kind, error!.message, error!.errno);
    const chunks = response.chunks.map(decodeChunk);
    async function* body(): AsyncIterable<Buffer> {
      for (const chunk of chunks) yield chunk;
      if (error) throw new TransportError(error.kind, error.message, error.errno);
    }
    return { status: response.status, headers: response.headers, body: body() };
  }
}
