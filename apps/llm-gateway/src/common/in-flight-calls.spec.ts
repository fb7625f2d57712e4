import { Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { Admission, FLUSH_RESERVE_MAX_MS, InFlightCalls, planShutdown } from './in-flight-calls.js';

const silent = createLogger({ service: 'llm-gateway', level: 'silent' });
const callsWith = (shutdownFlushMs: number) => new InFlightCalls(new Clock(), silent, { SHUTDOWN_FLUSH_MS: shutdownFlushMs });

describe('planShutdown', () => {
  it('gives calls in flight the shutdown wait less a reserve for the flush: a quarter of it, at most FLUSH_RESERVE_MAX_MS', () => {
    expect(planShutdown(1_000, 5_000)).toEqual({ callsUntilMs: 4_750, flushUntilMs: 6_000 });
    expect(planShutdown(1_000, 100_000)).toEqual({ callsUntilMs: 1_000 + 100_000 - FLUSH_RESERVE_MAX_MS, flushUntilMs: 101_000 });
    expect(planShutdown(1_000, 0)).toEqual({ callsUntilMs: 1_000, flushUntilMs: 1_000 });
  });
});

describe('InFlightCalls', () => {
  it('serves and counts calls until the shutdown begins, then refuses them without counting', () => {
    const calls = callsWith(5_000);
    expect(calls.admit()).toBe(Admission.Serve);
    expect(calls.admit()).toBe(Admission.Serve);
    calls.ended();
    expect(calls.count).toBe(1);
    expect(calls.stopping).toBe(false);
    calls.onModuleDestroy();
    expect(calls.stopping).toBe(true);
    expect(calls.admit()).toBe(Admission.RefuseShuttingDown);
    expect(calls.count).toBe(1);
  });

  it('lets the flush start when the last call in flight ended, with the rest of the wait; every caller shares the one wait', async () => {
    const calls = callsWith(60_000);
    calls.admit();
    calls.admit();
    calls.onModuleDestroy();
    let settled = 0;
    const windows = [calls.flushWindowMs(), calls.flushWindowMs()].map((w) => w.then((ms) => ((settled += 1), ms)));
    calls.ended();
    // One call still runs: a wait that ended now would be seen once the callbacks queued so far ran.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(0);
    calls.ended();
    for (const ms of await Promise.all(windows)) {
      expect(ms).toBeGreaterThan(50_000);
      expect(ms).toBeLessThanOrEqual(60_000);
    }
  });

  it('stops waiting for calls at the end of their share of the wait, leaving the reserve to the flush', async () => {
    const calls = callsWith(400);
    calls.admit();
    const ms = await calls.flushWindowMs();
    expect(calls.count).toBe(1);
    expect(ms).toBeLessThanOrEqual(100);
  });

  it('with SHUTDOWN_FLUSH_MS=0 waits for nothing', async () => {
    const calls = callsWith(0);
    calls.admit();
    expect(await calls.flushWindowMs()).toBe(0);
    expect(calls.admit()).toBe(Admission.RefuseShuttingDown);
  });

  it('begins the shutdown on the first flushWindowMs when onModuleDestroy did not run (the ledger or outbox alone)', async () => {
    const calls = callsWith(5_000);
    expect(await calls.flushWindowMs()).toBeGreaterThan(4_000);
    expect(calls.admit()).toBe(Admission.RefuseShuttingDown);
  });
});
