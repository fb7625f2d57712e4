import type { Clock } from '@agency/messaging';
import type { Random } from '../common/random.js';
import { DEFAULT_ROUTING, type RoutingSettings } from '../config/routing-settings.js';
import { ProviderError, type LlmProvider } from '../providers/llm-provider.js';
import type { ResolvedTarget } from '../providers/provider.registry.js';
import { backoffMs, CallRouter, type AttemptLimits, type AttemptReport, type CallDeadline } from './call-router.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { ProviderLimiter } from './provider-limiter.js';

/** Time that only moves when the router sleeps. */
class FakeClock {
  ms = 0;
  slept: number[] = [];
  nowMs(): number {
    return this.ms;
  }
  async sleep(ms: number): Promise<void> {
    this.slept.push(ms);
    this.ms += ms;
  }
}

const target = (ref: string, limiter = new ProviderLimiter({}, () => 0), breaker = new CircuitBreaker()): ResolvedTarget => ({
  ref,
  provider: { name: ref.split('/')[0]!, type: 'openai' } as LlmProvider,
  model: ref.split('/')[1]!,
  price: { inputPerMtok: 1, outputPerMtok: 1, cachedInputPerMtok: 0.5, cacheWritePerMtok: 1 },
  limiter,
  breaker,
});

const rateLimited = (retryAfterMs?: number) => new ProviderError('answered 429', 429, 'upstream_rate_limited', true, { retryAfterMs });
const serverError = () => new ProviderError('answered 500', 502, 'upstream_error', true);

describe('CallRouter', () => {
  let clock: FakeClock;
  let router: CallRouter;
  let reports: AttemptReport[];
  const routing: RoutingSettings = { ...DEFAULT_ROUTING, retries: 2, backoffInitialMs: 100, backoffMaxMs: 1000, maxRetryWaitMs: 5000 };

  beforeEach(() => {
    clock = new FakeClock();
    router = new CallRouter(clock as unknown as Clock, { next: () => 0.5 } as Random);
    reports = [];
  });

  /** Runs the targets; `outcomes[ref]` lists what each successive attempt on that target does. */
  function route(
    targets: ResolvedTarget[],
    outcomes: Record<string, Array<Error | string>>,
    options: { committed?: () => boolean; routing?: RoutingSettings; signal?: AbortSignal; deadline?: CallDeadline; takesMs?: number } = {},
  ) {
    const calls: string[] = [];
    const limits: AttemptLimits[] = [];
    const promise = router.route({
      targets,
      routing: options.routing ?? routing,
      estimatedTokens: () => 10,
      signal: options.signal,
      deadline: options.deadline,
      committed: options.committed ?? (() => false),
      tokensOf: () => 10,
      onAttempt: (r) => reports.push(r),
      run: async (t, _attempt, l) => {
        calls.push(t.ref);
        limits.push(l);
        clock.ms += options.takesMs ?? 0;
        const next = outcomes[t.ref]!.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    });
    return { promise, calls, limits };
  }

  it('computes full-jitter backoff within the cap', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffMs(routing, n, 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffMs(routing, 3, 0.25)).toBe(200);
  });

  it('retries a retryable failure on the same target after a jittered backoff', async () => {
    const { promise, calls } = route([target('a/x'), target('b/y')], { 'a/x': [serverError(), serverError(), 'from a'] });
    expect(await promise).toMatchObject({ value: 'from a', attempts: 3 });
    expect(calls).toEqual(['a/x', 'a/x', 'a/x']);
    expect(clock.slept).toEqual([50, 100]);
    expect(reports.map((r) => [r.attempt, r.outcome, r.next])).toEqual([
      [1, 'upstream_error', 'retry'],
      [2, 'upstream_error', 'retry'],
      [3, 'ok', 'done'],
    ]);
  });

  it('waits the retry-after the vendor asked for, and moves on when it is too long', async () => {
    const first = route([target('a/x'), target('b/y')], { 'a/x': [rateLimited(1500), 'ok'] });
    expect((await first.promise).value).toBe('ok');
    expect(clock.slept).toEqual([1500]);
    clock.slept = [];
    const second = route([target('a/x'), target('b/y')], { 'a/x': [rateLimited(60_000)], 'b/y': ['from b'] });
    expect((await second.promise).value).toBe('from b');
    expect(second.calls).toEqual(['a/x', 'b/y']);
    expect(clock.slept).toEqual([]);
  });

  it('falls back in order once retries are spent, and at once for a fallback-only failure', async () => {
    const auth = new ProviderError('key refused', 502, 'upstream_auth_failed', false, { disposition: 'fallback' });
    const { promise, calls } = route([target('a/x'), target('b/y'), target('c/z')], {
      'a/x': [serverError(), serverError(), serverError()],
      'b/y': [auth],
      'c/z': ['from c'],
    });
    expect((await promise).target.ref).toBe('c/z');
    expect(calls).toEqual(['a/x', 'a/x', 'a/x', 'b/y', 'c/z']);
    expect(reports.map((r) => r.next)).toEqual(['retry', 'retry', 'fallback', 'fallback', 'done']);
  });

  it('stops at a final failure, and never retries once the client got bytes', async () => {
    const bad = new ProviderError('context too long', 400, 'upstream_rejected', false);
    const a = route([target('a/x'), target('b/y')], { 'a/x': [bad] });
    await expect(a.promise).rejects.toBe(bad);
    expect(a.calls).toEqual(['a/x']);
    const b = route([target('a/x'), target('b/y')], { 'a/x': [serverError()] }, { committed: () => true });
    await expect(b.promise).rejects.toMatchObject({ code: 'upstream_error' });
    expect(b.calls).toEqual(['a/x']);
  });

  it('reports every attempt when all targets fail, keeping the last status and retry-after', async () => {
    const { promise } = route(
      [target('a/x'), target('b/y')],
      { 'a/x': [serverError(), serverError(), serverError()], 'b/y': [rateLimited(9000)] },
      { routing: { ...routing, maxRetryWaitMs: 1000 } },
    );
    const e = (await promise.catch((x: unknown) => x)) as ProviderError;
    expect(e).toMatchObject({ status: 429, code: 'upstream_rate_limited', retryAfterMs: 9000 });
    expect(e.message).toBe('all 4 attempts failed: a/x: answered 500; b/y: answered 429');
  });

  it('treats a provider over its local rate limit like a vendor 429', async () => {
    const limited = new ProviderLimiter({ requestsPerMinute: 1 }, () => clock.ms);
    limited.admit(1);
    const { promise, calls } = route([target('a/x', limited), target('b/y')], { 'b/y': ['from b'] }, { routing: { ...routing, maxRetryWaitMs: 10 } });
    expect((await promise).value).toBe('from b');
    expect(calls).toEqual(['b/y']);
    expect(reports[0]).toMatchObject({ outcome: 'local_rate_limited', next: 'fallback' });
  });

  it('gives up when the client went away', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(route([target('a/x')], { 'a/x': ['never'] }, { signal: abort.signal }).promise).rejects.toMatchObject({ status: 499, code: 'cancelled' });
  });

  describe('circuit breaker and deadline', () => {
    const timeout = () => new ProviderError('sent no answer within 1000 ms', 504, 'upstream_timeout', true);

    it('does not retry a target that timed out: its breaker opens, the fallback answers, and the next call skips it', async () => {
      const hung = target('a/x');
      const first = route([hung, target('b/y')], { 'a/x': [timeout()], 'b/y': ['from b'] }, { takesMs: 1000 });
      expect((await first.promise).value).toBe('from b');
      expect(first.calls).toEqual(['a/x', 'b/y']);
      expect(clock.slept).toEqual([]);
      const second = route([hung, target('b/y')], { 'b/y': ['from b again'] });
      expect((await second.promise).value).toBe('from b again');
      expect(second.calls).toEqual(['b/y']);
    });

    it('answers 503 circuit_open with a retry-after when every target is cooling down', async () => {
      const a = target('a/x');
      const b = target('b/y');
      a.breaker.record('upstream_unreachable', false, 0, { ...routing, breakerCooldownMs: 5000 });
      b.breaker.record('upstream_timeout', false, 0, { ...routing, breakerCooldownMs: 2000 });
      clock.ms = 500;
      const { promise, calls } = route([a, b], {});
      await expect(promise).rejects.toMatchObject({ status: 503, code: 'circuit_open', retryable: true, retryAfterMs: 1500 });
      expect(calls).toEqual([]);
    });

    it('gives each attempt what is left of the deadline, and starts no retry or fallback past it', async () => {
      const deadline: CallDeadline = { at: 2500, ms: 2500, source: 'the x-agency-deadline-ms header' };
      const { promise, calls, limits } = route(
        [target('a/x'), target('b/y'), target('c/z')],
        { 'a/x': [serverError()], 'b/y': [serverError()], 'c/z': ['never'] },
        { deadline, takesMs: 1300, routing: { ...routing, retries: 0 } },
      );
      const e = (await promise.catch((x: unknown) => x)) as ProviderError;
      expect(calls).toEqual(['a/x', 'b/y']);
      expect(limits).toEqual([{ firstByteTimeoutMs: 2500 }, { firstByteTimeoutMs: 1200 }]);
      expect(e).toMatchObject({ status: 504, code: 'deadline_exceeded' });
      expect(e.message).toBe("no answer started within the call's deadline of 2500 ms (the x-agency-deadline-ms header): a/x: answered 500; b/y: answered 500");
      // A backoff that would end past the deadline moves on instead of waiting.
      clock.slept = [];
      clock.ms = 0;
      const next = route([target('a/x'), target('b/y')], { 'a/x': [rateLimited(3000)], 'b/y': ['from b'] }, { deadline });
      expect((await next.promise).value).toBe('from b');
      expect(clock.slept).toEqual([]);
    });
  });
});
