import { Injectable } from '@nestjs/common';
import { Clock } from '@agency/messaging';
import { Random } from '../common/random.js';
import type { RoutingSettings } from '../config/routing-settings.js';
import { ProviderError } from '../providers/llm-provider.js';
import type { ResolvedTarget } from '../providers/provider.registry.js';

/** What happened to one attempt, for metrics and logs. */
export interface AttemptReport {
  target: ResolvedTarget;
  /** 1-based, over the whole call. */
  attempt: number;
  /** When the attempt began (epoch ms), admission included. */
  startedMs: number;
  /** "ok", or the ProviderError code. */
  outcome: string;
  /** What the router did next: retry the target, fall back to the next, or stop. */
  next: 'done' | 'retry' | 'fallback' | 'stop';
}

export interface RouteOptions<T> {
  targets: readonly ResolvedTarget[];
  routing: RoutingSettings;
  /** Estimated input tokens, for tokens-per-minute limits (asked only when a limit needs it). */
  estimatedTokens: () => number;
  signal?: AbortSignal;
  /** One attempt against one target. */
  run: (target: ResolvedTarget, attempt: number) => Promise<T>;
  /** Tokens the answer really used (corrects the limiter). */
  tokensOf: (value: T) => number;
  /** True once bytes went to the client: from then on nothing is retried. */
  committed: () => boolean;
  onAttempt?: (report: AttemptReport) => void;
}

/** "full jitter": a random wait in [0, min(max, initial * 2^n)]. */
export function backoffMs(routing: RoutingSettings, retry: number, random: number): number {
  const ceiling = Math.min(routing.backoffMaxMs, routing.backoffInitialMs * 2 ** retry);
  return Math.round(ceiling * random);
}

function cancelled(): ProviderError {
  return new ProviderError('the call was cancelled by the client', 499, 'cancelled', false);
}

/**
 * Walks an alias's targets in order. A retryable failure (429, 5xx, connect error, timeout, a
 * local rate limit) is retried on the same target after a backoff with jitter, or after the
 * retry-after the vendor asked for, up to `retries` times; then, or at once for a failure that
 * only another target can fix (the vendor refused the gateway's key), the next target answers.
 * A failure after the answer started reaching the client is never retried: it is the client's.
 */
@Injectable()
export class CallRouter {
  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async route<T>(o: RouteOptions<T>): Promise<{ value: T; target: ResolvedTarget; attempts: number }> {
    const failures: string[] = [];
    let last: ProviderError | undefined;
    let attempt = 0;
    for (const [t, target] of o.targets.entries()) {
      const more = t < o.targets.length - 1;
      for (let retry = 0; ; retry += 1) {
        if (o.signal?.aborted) throw cancelled();
        attempt += 1;
        const startedMs = this.clock.nowMs();
        let error: unknown;
        const admission = target.limiter.admit(target.limiter.countsTokens ? o.estimatedTokens() : 0);
        if (!admission.ok) {
          error = new ProviderError(`provider "${target.provider.name}" is at its ${admission.limit} limit`, 429, 'local_rate_limited', true, { retryAfterMs: admission.waitMs });
        } else {
          try {
            const waiting = admission.permit.slot(o.signal);
            if (waiting) await waiting;
          } catch {
            admission.permit.release();
            throw cancelled();
          }
          try {
            const value = await o.run(target, attempt);
            admission.permit.release(o.tokensOf(value));
            o.onAttempt?.({ target, attempt, startedMs, outcome: 'ok', next: 'done' });
            return { value, target, attempts: attempt };
          } catch (e) {
            admission.permit.release();
            error = e;
          }
        }
        if (!(error instanceof ProviderError) || o.committed() || error.disposition === 'final' || o.signal?.aborted) {
          if (error instanceof ProviderError) o.onAttempt?.({ target, attempt, startedMs, outcome: error.code, next: 'stop' });
          throw error;
        }
        last = error;
        failures.push(`${target.ref}: ${error.message}`);
        const wait = error.retryAfterMs ?? backoffMs(o.routing, retry, this.random.next());
        if (error.disposition === 'retry' && retry < o.routing.retries && wait <= o.routing.maxRetryWaitMs) {
          o.onAttempt?.({ target, attempt, startedMs, outcome: error.code, next: 'retry' });
          await this.sleep(wait, o.signal);
          continue;
        }
        o.onAttempt?.({ target, attempt, startedMs, outcome: error.code, next: more ? 'fallback' : 'stop' });
        break;
      }
    }
    throw this.allFailed(last!, failures, attempt);
  }

  /** The last failure's status and code, with every attempt in the message. */
  private allFailed(last: ProviderError, failures: string[], attempts: number): ProviderError {
    if (attempts === 1) return last;
    const distinct = [...new Set(failures)];
    return new ProviderError(`all ${attempts} attempts failed: ${distinct.join('; ')}`, last.status, last.code, false, { retryAfterMs: last.retryAfterMs });
  }

  private async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    if (!signal) return this.clock.sleep(ms);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = () => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
    });
    await Promise.race([this.clock.sleep(ms), aborted]);
    signal.removeEventListener('abort', onAbort!);
    if (signal.aborted) throw cancelled();
  }
}
