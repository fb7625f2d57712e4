import type { HttpProviderLimits } from '../config/provider-settings.js';

export type LimiterSettings = Pick<HttpProviderLimits, 'maxConcurrency' | 'requestsPerMinute' | 'tokensPerMinute'>;

/** A per-minute allowance refilled continuously; it may go negative when a call used more than estimated. */
class MinuteBucket {
  private level: number;
  private at: number;

  constructor(
    readonly perMinute: number,
    nowMs: number,
  ) {
    this.level = perMinute;
    this.at = nowMs;
  }

  private refill(nowMs: number): void {
    this.level = Math.min(this.perMinute, this.level + ((nowMs - this.at) * this.perMinute) / 60_000);
    this.at = nowMs;
  }

  /** 0 when `n` fits now, else the ms until it will. A call bigger than the whole minute waits for a full bucket. */
  waitFor(n: number, nowMs: number): number {
    this.refill(nowMs);
    const need = Math.min(n, this.perMinute);
    return this.level >= need ? 0 : Math.ceil(((need - this.level) * 60_000) / this.perMinute);
  }

  take(n: number): void {
    this.level -= n;
  }
}

const FREE: Admission = { ok: true, permit: { slot: () => undefined, release: () => undefined } };

export type Admission = { ok: true; permit: Permit } | { ok: false; waitMs: number; limit: string };

export interface Permit {
  /**
   * Waits for a free concurrency slot (FIFO); rejects if `signal` aborts or `timeoutMs` passes
   * first. Undefined: the slot is free now (and no timer was made).
   */
  slot(signal?: AbortSignal, timeoutMs?: number): Promise<void> | undefined;
  /** Frees the slot and corrects the token count with what the call really used. */
  release(actualTokens?: number): void;
}

/**
 * A provider's configured limits: calls in flight (waiting in line for a slot), requests and
 * tokens per minute (refused with the wait, which the router treats like a vendor's 429 with
 * retry-after: it waits or moves on to the next target). Tokens are the call's estimated input
 * before it runs, corrected by the real usage afterwards.
 */
export class ProviderLimiter {
  private readonly requests?: MinuteBucket;
  private readonly tokens?: MinuteBucket;
  private readonly max: number;
  /** No limit configured: admission is free and costs nothing. */
  private readonly unlimited: boolean;
  private inFlight = 0;
  private readonly queue: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(
    settings: LimiterSettings,
    private readonly nowMs: () => number,
  ) {
    const now = nowMs();
    if (settings.requestsPerMinute) this.requests = new MinuteBucket(settings.requestsPerMinute, now);
    if (settings.tokensPerMinute) this.tokens = new MinuteBucket(settings.tokensPerMinute, now);
    this.max = settings.maxConcurrency ?? Infinity;
    this.unlimited = !this.requests && !this.tokens && this.max === Infinity;
  }

  /** Whether admit() needs the call's token estimate. */
  get countsTokens(): boolean {
    return this.tokens !== undefined;
  }

  get active(): number {
    return this.inFlight;
  }

  get waiting(): number {
    return this.queue.length;
  }

  admit(estimatedTokens: number): Admission {
    if (this.unlimited) return FREE;
    const now = this.nowMs();
    const r = this.requests?.waitFor(1, now) ?? 0;
    const t = this.tokens?.waitFor(estimatedTokens, now) ?? 0;
    if (r > 0 || t > 0)
      return r >= t
        ? { ok: false, waitMs: r, limit: `requests_per_minute (${this.requests!.perMinute})` }
        : { ok: false, waitMs: t, limit: `tokens_per_minute (${this.tokens!.perMinute})` };
    this.requests?.take(1);
    this.tokens?.take(estimatedTokens);
    let held = false;
    let released = false;
    return {
      ok: true,
      permit: {
        slot: (signal, timeoutMs) => {
          if (this.inFlight < this.max) {
            this.inFlight += 1;
            held = true;
            return undefined;
          }
          return this.acquire(signal, timeoutMs).then(() => void (held = true));
        },
        release: (actual) => {
          if (released) return;
          released = true;
          if (actual !== undefined) this.tokens?.take(actual - estimatedTokens);
          if (held) this.free();
        },
      },
    };
  }

  /**
   * A plain timer, cleared once the wait ends: an AbortSignal.timeout() here (one per call, for the
   * call's whole deadline) would stay alive with everything its async context holds until it fired.
   */
  private acquire(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (this.inFlight < this.max) {
      this.inFlight += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const leave = (reason: string) => {
        settle();
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new Error(reason));
      };
      const entry = {
        resolve: () => {
          settle();
          resolve();
        },
        reject,
      };
      const onAbort = () => leave('the call was cancelled while waiting for a free slot');
      if (signal?.aborted) return reject(new Error('the call was cancelled while waiting for a free slot'));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => leave(`no free slot within ${timeoutMs} ms`), timeoutMs);
      this.queue.push(entry);
    });
  }

  private free(): void {
    const next = this.queue.shift();
    // The slot passes straight to the next in line: inFlight stays the same.
    if (next) next.resolve();
    else this.inFlight -= 1;
  }
}
