import { RetryingLazy } from './retrying-lazy.js';
import { BUCKETS } from '@agency/contracts';
import type { BusConnection } from './bus-connection.js';
import { KvStore } from './kv.store.js';

interface Recorded<T> {
  result: T;
  at: string;
}

/**
 * Guards a side effect against redelivery: the result of `key`'s first successful run is kept,
 * and later runs return it instead of acting again. The side effect itself must tolerate being
 * started twice (find-or-create), because a crash between acting and recording repeats it.
 */
export class IdempotencyStore {
  // Kept a week: long past JetStream's dedupe window and any redelivery.
  private readonly store: RetryingLazy<KvStore<Recorded<unknown>>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<Recorded<unknown>>(bus, BUCKETS.once, { ttl: 7 * 24 * 3600_000, history: 1 });
  }

  private open(): Promise<KvStore<Recorded<unknown>>> {
    return this.store.get();
  }

  async once<T>(key: string, action: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
    const store = await this.open();
    const safeKey = key.replace(/[^A-Za-z0-9_=.-]/g, '_');
    const existing = await store.get(safeKey);
    if (existing) return { result: existing.value.result as T, replayed: true };
    const result = await action();
    const created = await store.create(safeKey, { result, at: new Date().toISOString() });
    if (created === undefined) {
      const winner = await store.get(safeKey);
      return { result: (winner?.value.result as T) ?? result, replayed: true };
    }
    return { result, replayed: false };
  }
}
