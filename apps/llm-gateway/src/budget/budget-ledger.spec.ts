import { Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { BudgetLedger, SPEND_CACHE_MS } from './budget-ledger.js';
import type { SpendStore } from './spend.store.js';

/** The KV bucket in memory; writes wait until released, to observe the ledger in between. */
class FakeStore {
  values = new Map<string, number>();
  reads = 0;
  hold = false;
  failing = false;
  private held: Array<() => void> = [];
  async spent(key: string): Promise<number> {
    this.reads += 1;
    return this.values.get(key) ?? 0;
  }
  writes: Array<[string, number, number]> = [];
  async add(key: string, usd: number, _now: Date, calls: number): Promise<number> {
    this.writes.push([key, usd, calls]);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (this.failing) throw new Error('nats: timeout');
    const v = (this.values.get(key) ?? 0) + usd;
    this.values.set(key, v);
    return v;
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

describe('BudgetLedger', () => {
  let store: FakeStore;
  let clock: FakeClock;
  let ledger: BudgetLedger;

  beforeEach(() => {
    store = new FakeStore();
    clock = new FakeClock();
    ledger = new BudgetLedger(store as unknown as SpendStore, clock, createLogger({ service: 'llm-gateway', level: 'silent' }));
  });

  it('reads spend from the store, trusting it for a moment', async () => {
    store.values.set('fr.FR-1', 2);
    expect(await ledger.spent('fr.FR-1')).toBe(2);
    store.values.set('fr.FR-1', 3);
    expect(await ledger.spent('fr.FR-1')).toBe(2);
    clock.ms += SPEND_CACHE_MS;
    expect(await ledger.spent('fr.FR-1')).toBe(3);
    expect(store.reads).toBe(2);
  });

  it('counts a charge at once and writes in the background, merging charges that arrive during a write', async () => {
    store.hold = true;
    ledger.charge('fr.FR-1', 0.5);
    ledger.charge('fr.FR-1', 0.25);
    ledger.charge('fr.FR-1', 0.125);
    expect(await ledger.spent('fr.FR-1')).toBe(0.875);
    expect(store.values.get('fr.FR-1')).toBeUndefined();
    store.hold = false;
    store.release();
    await ledger.flush();
    // One write for the first charge, one for the two that waited behind it.
    expect(store.writes).toEqual([
      ['fr.FR-1', 0.5, 1],
      ['fr.FR-1', 0.375, 2],
    ]);
    expect(store.values.get('fr.FR-1')).toBe(0.875);
    expect(await ledger.spent('fr.FR-1')).toBe(0.875);
  });

  it('keeps counting locally when the store cannot be written', async () => {
    store.failing = true;
    ledger.charge('key.tools.total', 1);
    await ledger.flush();
    expect(await ledger.spent('key.tools.total')).toBe(1);
  });
});
