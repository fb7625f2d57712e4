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

export interface CallDeadline {
  at: number;
  ms: number;
  /** Where it was set, for the error message. */
  source: string;
}

/** Limits one attempt must keep. */
export interface AttemptLimits {
  /** The call's deadline leaves less than this for the answer to start (ms). */
  firstByteTimeoutMs?: number;
}

export interface RouteOptions<T> {
  targets: readonly ResolvedTarget[];
  routing: RoutingSettings;
  /** Estimated input tokens, for tokens-per-minute limits (asked only when a limit needs it). */
  estimatedTokens: () => number;
  signal?: AbortSignal;
  /** By when (epoch ms) an answer must have started; no retry, backoff or fallback runs past it. */
  deadline?: CallDeadline;
  /** One attempt against one target. */
  run: (target: ResolvedTarget, attempt: number, limits: AttemptLimits) => Promise<T>;
  /** Tokens the answer really used (corrects the limiter). */
  tokensOf: (value: T) => number;
  /** True once bytes went to the client: from then on nothing is retried. */
  committed: () => boolean;
  onAttempt?: (report: AttemptReport) => void;
  /** A target skipped because its circuit breaker is open. */
  onSkip?: (target: ResolvedTarget) => void;
  /** An attempt's outcome tripped the target's breaker. */
  onTrip?: (target: ResolvedTarget, outcome: string) => void;
}

/** "full jitter": a random wait in [0, min(max, initial * 2^n)]. */
export function backoffMs(routing: RoutingSettings, retry: number, random: number): number {
  const ceiling = Math.min(routing.backoffMaxMs, routing.backoffInitialMs * 2 ** retry);
  return Math.round(ceiling * random);
}

function cancelled(): ProviderError {
  return new ProviderError('the call was cancelled by the client', 499, 'cancelled', false);
}

/** The state of one call's walk over its targets. */
interface Walk {
  attempt: number;
  failures: string[];
  last?: ProviderError;
  /** Soonest end of a skipped target's cool-down, when every target was skipped. */
  skippedFor?: number;
}

type Step<T> = { done: T } | { next: 'retry'; waitMs: number } | { next: 'fallback' };

/**
 * Walks an alias's targets in order. A retryable failure (429, 5xx, connect error, a local rate
 * limit) is retried on the same target after a backoff with jitter, or after the retry-after the
 * vendor asked for, up to `retries` times; then, or at once for a failure that only another
 * target can fix, the next target answers. A target whose circuit breaker is open (it just timed
 * out or failed hard) is skipped, so a hung vendor costs one first-byte timeout, not one per
 * retry. Nothing starts past the call's deadline. A failure after the answer started reaching
 * the client is never retried: it is the client's.
 */
@Injectable()
export class CallRouter {
  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async route<T>(o: RouteOptions<T>): Promise<{ value: T; target: ResolvedTarget; attempts: number }> {
    const walk: Walk = { attempt: 0, failures: [] };
    for (const [t, target] of o.targets.entries()) {
      const more = t < o.targets.length - 1;
      for (let retry = 0; ; retry += 1) {
        if (o.signal?.aborted) throw cancelled();
        const now = this.clock.nowMs();
        if (o.deadline !== undefined && now >= o.deadline.at) throw this.deadlineError(o, walk.failures);
        const gate = target.breaker.admit(now);
        if (!gate.ok) {
          walk.skippedFor = Math.min(walk.skippedFor ?? Infinity, gate.retryInMs);
          walk.failures.push(`${target.ref}: skipped, it failed moments ago (circuit open)`);
          o.onSkip?.(target);
          break;
        }
        const step = await this.attempt(o, walk, { target, retry, more, probe: gate.probe, startedMs: now });
        if ('done' in step) return { value: step.done, target, attempts: walk.attempt };
        if (step.next === 'fallback') break;
        await this.sleep(step.waitMs, o.signal);
      }
    }
    if (walk.attempt === 0 && walk.skippedFor !== undefined) {
      const names = o.targets.map((x) => x.ref).join(', ');
      throw new ProviderError(
        `every target of this model (${names}) failed moments ago and is skipped for now (circuit open); try again shortly`,
        503,
        'circuit_open',
        true,
        { retryAfterMs: walk.skippedFor },
      );
    }
    throw this.allFailed(walk.last!, walk.failures, walk.attempt);
  }

  /** One attempt on `target`: its value, or what to do next (throws when the call must stop). */
  private async attempt<T>(
    o: RouteOptions<T>,
    walk: Walk,
    a: { target: ResolvedTarget; retry: number; more: boolean; probe: boolean; startedMs: number },
  ): Promise<Step<T>> {
    const { target, retry, more, probe, startedMs } = a;
    walk.attempt += 1;
    const attempt = walk.attempt;
    let error: unknown;
    try {
      const value = await this.admitted(o, target, attempt, startedMs);
      this.record(o, target, 'ok', probe);
      o.onAttempt?.({ target, attempt, startedMs, outcome: 'ok', next: 'done' });
      return { done: value };
    } catch (e) {
      error = e;
    }
    if (!(error instanceof ProviderError)) {
      this.record(o, target, 'none', probe);
      throw error;
    }
    this.record(o, target, error.code, probe);
    if (error.code === 'deadline_exceeded') {
      o.onAttempt?.({ target, attempt, startedMs, outcome: error.code, next: 'stop' });
      throw this.deadlineError(o, [...walk.failures, `${target.ref}: ${error.message}`]);
    }
    if (o.committed() || error.disposition === 'final' || o.signal?.aborted) {
      o.onAttempt?.({ target, attempt, startedMs, outcome: error.code, next: 'stop' });
      throw error;
    }
    walk.last = error;
    walk.failures.push(`${target.ref}: ${error.message}`);
    const wait = error.retryAfterMs ?? backoffMs(o.routing, retry, this.random.next());
    const inTime = o.deadline === undefined || this.clock.nowMs() + wait < o.deadline.at;
    if (
      error.disposition === 'retry' &&
      retry < o.routing.retries &&
      wait <= o.routing.maxRetryWaitMs &&
      inTime &&
      !target.breaker.isOpen(this.clock.nowMs())
    ) {
      o.onAttempt?.({ target, attempt, startedMs, outcome: error.code, next: 'retry' });
      return { next: 'retry', waitMs: wait };
    }
    o.onAttempt?.({ target, attempt, startedMs, outcome: error.code, next: more ? 'fallback' : 'stop' });
    return { next: 'fallback' };
  }

  /** Admission by the provider's limiter (a slot, rate limits), then the call itself. */
  private async admitted<T>(o: RouteOptions<T>, target: ResolvedTarget, attempt: number, now: number): Promise<T> {
    const admission = target.limiter.admit(target.limiter.countsTokens ? o.estimatedTokens() : 0);
    if (!admission.ok)
      throw new ProviderError(`provider "${target.provider.name}" is at its ${admission.limit} limit`, 429, 'local_rate_limited', true, {
        retryAfterMs: admission.waitMs,
      });
    let left = o.deadline === undefined ? undefined : Math.max(1, o.deadline.at - now);
    const waiting = admission.permit.slot(o.signal, left);
    if (waiting) {
      try {
        await waiting;
      } catch {
        admission.permit.release();
        if (o.signal?.aborted) throw cancelled();
        throw this.deadlineError(o, [`${target.ref}: still waiting for a free slot (max_concurrency)`]);
      }
      if (o.deadline !== undefined) left = Math.max(1, o.deadline.at - this.clock.nowMs());
    }
    try {
      const value = await o.run(target, attempt, left === undefined ? {} : { firstByteTimeoutMs: left });
      admission.permit.release(o.tokensOf(value));
      return value;
    } catch (e) {
      admission.permit.release();
      throw e;
    }
  }

  private record<T>(o: RouteOptions<T>, target: ResolvedTarget, outcome: string, probe: boolean): void {
    // A success needs no time (nothing opens): spare the hot path a clock read.
    if (target.breaker.record(outcome, probe, outcome === 'ok' ? 0 : this.clock.nowMs(), o.routing)) o.onTrip?.(target, outcome);
  }

  private deadlineError<T>(o: RouteOptions<T>, failures: string[]): ProviderError {
    const what = failures.length ? `: ${[...new Set(failures)].join('; ')}` : '';
    const d = o.deadline;
    return new ProviderError(`no answer started within the call's deadline${d ? ` of ${d.ms} ms (${d.source})` : ''}${what}`, 504, 'deadline_exceeded', false);
  }

  /** The last failure's status and code, with every attempt in the message. */
  private allFailed(last: ProviderError, failures: string[], attempts: number): ProviderError {
    if (failures.length === 1) return last;
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
