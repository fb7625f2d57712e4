import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { InFlightCalls } from '../common/in-flight-calls.js';
import { SpoolFiles } from '../common/spool-file.js';
import { BudgetLedger, SPEND_CACHE_MS, SPEND_SPOOL, WRITE_DELAY_MS } from './budget-ledger.js';
import type { SpendBatch, SpendStore, StoredSpend } from './spend.store.js';

/**
 * The KV bucket in memory, counting each writer's batch at most once like SpendStore; writes wait
 * until released, to observe the ledger in between. `failing` refuses writes; `loseAnswers`
 * stores them but fails the call, as when the connection drops before the answer.
 */
class FakeStore {
  values = new Map<string, { spentUsd: number; applied: Map<string, number> }>();
  reads = 0;
  hold = false;
  failing = false;
  loseAnswers = 0;
  private held: Array<() => void> = [];
  writes: Array<[string, number, number]> = [];
  async read(key: string): Promise<StoredSpend> {
    this.reads += 1;
    if (this.failing) throw new Error('nats: timeout');
    return this.record(key);
  }
  record(key: string): StoredSpend {
    const v = this.values.get(key);
    return { spentUsd: v?.spentUsd ?? 0, applied: new Map(v?.applied ?? []) };
  }
  set(key: string, usd: number): void {
    this.values.set(key, { spentUsd: usd, applied: new Map() });
  }
  async add(key: string, batch: SpendBatch): Promise<StoredSpend> {
    this.writes.push([key, batch.usd, batch.calls]);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (this.failing) throw new Error('nats: timeout');
    const v = this.values.get(key) ?? { spentUsd: 0, applied: new Map<string, number>() };
    if ((v.applied.get(batch.writer) ?? 0) < batch.seq) {
      v.spentUsd += batch.usd;
      v.applied.set(batch.writer, batch.seq);
    }
    this.values.set(key, v);
    if (this.loseAnswers > 0) {
      this.loseAnswers -= 1;
      throw new Error('nats: disconnected');
    }
    return this.record(key);
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

class FakeClock extends Clock {
  ms = 1_000_000;
  override nowMs(): number {
    return this.ms;
  }
}

const silent = createLogger({ service: 'llm-gateway', level: 'silent' });

describe('BudgetLedger', () => {
  let store: FakeStore;
  let clock: FakeClock;
  let ledger: BudgetLedger;
  let workDir: string;
  const ledgerOn = (s: FakeStore, shutdownFlushMs = 5_000, calls = new InFlightCalls(clock, silent, { SHUTDOWN_FLUSH_MS: shutdownFlushMs })) =>
    new BudgetLedger(s as unknown as SpendStore, clock, silent, new SpoolFiles({ WORK_DIR: workDir }), calls);

  beforeEach(() => {
    store = new FakeStore();
    clock = new FakeClock();
    workDir = mkdtempSync(join(tmpdir(), 'ledger-'));
    ledger = ledgerOn(store);
  });
  afterEach(() => rmSync(workDir, { recursive: true, force: true }));

  it('reads spend from the store, trusting it for a moment', async () => {
    store.set('fr.FR-1', 2);
    expect(await ledger.spent('fr.FR-1')).toBe(2);
    store.set('fr.FR-1', 3);
    expect(await ledger.spent('fr.FR-1')).toBe(2);
    clock.ms += SPEND_CACHE_MS;
    expect(await ledger.spent('fr.FR-1')).toBe(3);
    expect(store.reads).toBe(2);
  });

  it('counts a charge at once and writes in the background, merging charges that arrive before or during a write', async () => {
    ledger.charge('fr.FR-1', 0.5);
    ledger.charge('fr.FR-1', 0.25);
    expect(await ledger.spent('fr.FR-1')).toBe(0.75);
    // The write starts a moment later, with every charge made by then.
    await vi.waitFor(() => expect(store.writes).toEqual([['fr.FR-1', 0.75, 2]]));
    store.hold = true;
    ledger.charge('fr.FR-1', 0.5);
    await vi.waitFor(() => expect(store.writes).toHaveLength(2));
    ledger.charge('fr.FR-1', 0.25);
    ledger.charge('fr.FR-1', 0.125);
    expect(await ledger.spent('fr.FR-1')).toBe(1.625);
    store.hold = false;
    store.release();
    await ledger.flush();
    // One write for the charge in flight, one for the two that waited behind it.
    expect(store.writes.slice(1)).toEqual([
      ['fr.FR-1', 0.5, 1],
      ['fr.FR-1', 0.375, 2],
    ]);
    expect(store.values.get('fr.FR-1')?.spentUsd).toBe(1.625);
    expect(await ledger.spent('fr.FR-1')).toBe(1.625);
  });

  it('writes the charges made during a write WRITE_DELAY_MS after it, not back to back', async () => {
    vi.useFakeTimers();
    try {
      store.hold = true;
      ledger.charge('fr.FR-1', 0.5);
      await vi.advanceTimersByTimeAsync(WRITE_DELAY_MS);
      expect(store.writes).toHaveLength(1);
      ledger.charge('fr.FR-1', 0.25);
      store.hold = false;
      store.release();
      // The first write landed; the next waits like a new charge (a busy FR is written a few
      // times a second, not as fast as KV answers).
      await vi.advanceTimersByTimeAsync(WRITE_DELAY_MS - 1);
      expect(store.values.get('fr.FR-1')?.spentUsd).toBe(0.5);
      expect(store.writes).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(store.writes).toEqual([
        ['fr.FR-1', 0.5, 1],
        ['fr.FR-1', 0.25, 1],
      ]);
    } finally {
      vi.useRealTimers();
    }
    expect(await ledger.flush()).toBe(true);
    expect(store.values.get('fr.FR-1')?.spentUsd).toBe(0.75);
  });

  it('tries a failed write again until it lands, counting it meanwhile, and never twice', async () => {
    store.set('key.tools.total', 1);
    expect(await ledger.spent('key.tools.total')).toBe(1);
    store.failing = true;
    ledger.charge('key.tools.total', 1);
    await vi.waitFor(() => expect(store.writes.length).toBeGreaterThanOrEqual(2));
    ledger.charge('key.tools.total', 0.5);
    clock.ms += SPEND_CACHE_MS;
    // The stored total cannot be read: the last one read plus every unwritten charge.
    expect(await ledger.spent('key.tools.total')).toBe(2.5);
    expect(await ledger.flush(50)).toBe(false);
    // The bucket is back, but the first answer is lost after the write landed.
    store.failing = false;
    store.loseAnswers = 1;
    expect(await ledger.flush()).toBe(true);
    expect(store.values.get('key.tools.total')?.spentUsd).toBe(2.5);
    clock.ms += SPEND_CACHE_MS;
    expect(await ledger.spent('key.tools.total')).toBe(2.5);
  });

  it('at shutdown, waits for the calls in flight and writes what they charge as they end before it returns', async () => {
    const calls = new InFlightCalls(clock, silent, { SHUTDOWN_FLUSH_MS: 60_000 });
    ledger = ledgerOn(store, 60_000, calls);
    calls.admit();
    calls.onModuleDestroy();
    let returned = false;
    const stopping = ledger.beforeApplicationShutdown().then(() => (returned = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(returned).toBe(false);
    // The call ends: it charges, then its response is done.
    ledger.charge('fr.FR-7', 0.25);
    calls.ended();
    await stopping;
    expect(store.record('fr.FR-7').spentUsd).toBe(0.25);
    expect(existsSync(join(workDir, SPEND_SPOOL))).toBe(false);
  });

  it('keeps unwritten spend in WORK_DIR at shutdown, and the next start writes it once', async () => {
    ledger = ledgerOn(store, 50);
    store.failing = true;
    ledger.charge('fr.FR-1', 0.25);
    ledger.charge('fr.FR-2', 1);
    await vi.waitFor(() => expect(store.writes.length).toBeGreaterThanOrEqual(2));
    ledger.charge('fr.FR-1', 0.5);
    await ledger.beforeApplicationShutdown();
    const spooled = JSON.parse(readFileSync(join(workDir, SPEND_SPOOL), 'utf8')) as { batches: Array<{ key: string; usd: number }> };
    expect(spooled.batches.map((b) => [b.key, b.usd])).toEqual([
      ['fr.FR-1', 0.25],
      ['fr.FR-1', 0.5],
      ['fr.FR-2', 1],
    ]);

    // The first write of FR-1 had landed after all; the next start counts it once.
    store.failing = false;
    await store.add('fr.FR-1', spooled.batches[0] as unknown as SpendBatch);
    const next = ledgerOn(store);
    await next.onModuleInit();
    expect(await next.flush()).toBe(true);
    expect(store.values.get('fr.FR-1')?.spentUsd).toBe(0.75);
    expect(store.values.get('fr.FR-2')?.spentUsd).toBe(1);
    expect(existsSync(join(workDir, SPEND_SPOOL))).toBe(false);
  });

  it('keeps the charge of a call that outlasted the shutdown wait in WORK_DIR, and the next start writes it once', async () => {
    const calls = new InFlightCalls(new Clock(), silent, { SHUTDOWN_FLUSH_MS: 40 });
    ledger = ledgerOn(store, 40, calls);
    calls.admit();
    calls.onModuleDestroy();
    await ledger.beforeApplicationShutdown();
    // The flush is over; the bus closes before the late call's charge could be written.
    store.failing = true;
    ledger.charge('fr.FR-9', 0.4);
    calls.ended();
    await ledger.onApplicationShutdown();
    const spooled = JSON.parse(readFileSync(join(workDir, SPEND_SPOOL), 'utf8')) as { batches: Array<{ key: string; usd: number }> };
    expect(spooled.batches.map((b) => [b.key, b.usd])).toEqual([['fr.FR-9', 0.4]]);

    store.failing = false;
    const next = ledgerOn(store);
    await next.onModuleInit();
    expect(await next.flush()).toBe(true);
    expect(store.values.get('fr.FR-9')?.spentUsd).toBe(0.4);
    expect(existsSync(join(workDir, SPEND_SPOOL))).toBe(false);
  });

  it('leaves no spool when a late charge is written before the process ends', async () => {
    const calls = new InFlightCalls(new Clock(), silent, { SHUTDOWN_FLUSH_MS: 40 });
    ledger = ledgerOn(store, 40, calls);
    calls.admit();
    calls.onModuleDestroy();
    await ledger.beforeApplicationShutdown();
    ledger.charge('fr.FR-10', 0.2);
    calls.ended();
    await vi.waitFor(() => expect(store.record('fr.FR-10').spentUsd).toBe(0.2));
    await ledger.flush();
    await ledger.onApplicationShutdown();
    expect(existsSync(join(workDir, SPEND_SPOOL))).toBe(false);
  });
});
