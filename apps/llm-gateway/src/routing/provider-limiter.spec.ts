import { ProviderLimiter, type Admission, type Permit } from './provider-limiter.js';

function permitOf(a: Admission): Permit {
  if (!a.ok) throw new Error(`refused: ${a.limit}`);
  return a.permit;
}

describe('ProviderLimiter', () => {
  let now: number;
  beforeEach(() => (now = 0));

  it('admits anything, at no cost, when nothing is limited', () => {
    const l = new ProviderLimiter({}, () => now);
    for (let i = 0; i < 1000; i += 1) expect(permitOf(l.admit(1e9)).slot()).toBeUndefined();
    expect(l.countsTokens).toBe(false);
  });

  it('refuses requests over requests_per_minute with the wait, refilling continuously', () => {
    const l = new ProviderLimiter({ requestsPerMinute: 2 }, () => now);
    permitOf(l.admit(0));
    permitOf(l.admit(0));
    expect(l.admit(0)).toEqual({ ok: false, waitMs: 30_000, limit: 'requests_per_minute (2)' });
    now = 30_000;
    expect(l.admit(0).ok).toBe(true);
  });

  it('counts estimated tokens and corrects them with the real usage', () => {
    const l = new ProviderLimiter({ tokensPerMinute: 1000 }, () => now);
    expect(l.countsTokens).toBe(true);
    const p = permitOf(l.admit(100));
    p.release(900);
    // 900 used of 1000: the next 200-token call waits for 100 tokens (6 s at 1000/min).
    expect(l.admit(200)).toEqual({ ok: false, waitMs: 6000, limit: 'tokens_per_minute (1000)' });
    // A call larger than the whole minute waits for a full bucket instead of forever.
    now = 60_000;
    expect(l.admit(5000).ok).toBe(true);
  });

  it('queues callers beyond max_concurrency in order, and lets a cancelled one leave the queue', async () => {
    const l = new ProviderLimiter({ maxConcurrency: 1 }, () => now);
    const first = permitOf(l.admit(0));
    expect(first.slot()).toBeUndefined();
    const order: string[] = [];
    const second = permitOf(l.admit(0));
    const third = permitOf(l.admit(0));
    const gone = new AbortController();
    const leaving = permitOf(l.admit(0));
    const p2 = second.slot()!.then(() => order.push('second'));
    const pLeaving = leaving.slot(gone.signal)!.catch((e: Error) => order.push(`left: ${e.message}`));
    const p3 = third.slot()!.then(() => order.push('third'));
    expect(l.waiting).toBe(3);
    gone.abort();
    await pLeaving;
    first.release();
    await p2;
    second.release();
    await p3;
    expect(order).toEqual(['left: the call was cancelled while waiting for a free slot', 'second', 'third']);
    expect(l.active).toBe(1);
    third.release();
    third.release();
    expect(l.active).toBe(0);
  });

  describe('a wait with a time limit', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('leaves the queue when the time is up, and the next caller gets the slot', async () => {
      const l = new ProviderLimiter({ maxConcurrency: 1 }, () => now);
      const first = permitOf(l.admit(0));
      first.slot();
      const late = permitOf(l.admit(0))
        .slot(undefined, 1000)!
        .catch((e: Error) => e.message);
      const next = permitOf(l.admit(0)).slot(undefined, 5000)!;
      await vi.advanceTimersByTimeAsync(1000);
      expect(await late).toBe('no free slot within 1000 ms');
      expect(l.waiting).toBe(1);
      first.release();
      await next;
      expect(l.active).toBe(1);
    });

    it('keeps no timer once the slot is given, or when it was free at once (issue 15: no timer per call)', async () => {
      const l = new ProviderLimiter({ maxConcurrency: 1 }, () => now);
      const first = permitOf(l.admit(0));
      expect(first.slot(undefined, 300_000)).toBeUndefined();
      expect(vi.getTimerCount()).toBe(0);
      const waiting = permitOf(l.admit(0)).slot(new AbortController().signal, 300_000)!;
      expect(vi.getTimerCount()).toBe(1);
      first.release();
      await waiting;
      expect(vi.getTimerCount()).toBe(0);
    });

    it('refuses at once a caller that was already cancelled', async () => {
      const l = new ProviderLimiter({ maxConcurrency: 1 }, () => now);
      permitOf(l.admit(0)).slot();
      const gone = new AbortController();
      gone.abort();
      await expect(permitOf(l.admit(0)).slot(gone.signal, 1000)).rejects.toThrow('cancelled');
      expect(l.waiting).toBe(0);
    });
  });
});
