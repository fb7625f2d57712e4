import { RetryingLazy } from './retrying-lazy.js';
import { BUCKETS, ownedKey, type ServiceName } from '@agency/contracts';
import type { BusConnection } from './bus-connection.js';
import { KvStore } from './kv.store.js';

interface Recorded<T> {
  result: T;
  at: string;
}

/** Bucket TTL: long past JetStream's dedupe window and any redelivery. */
export const ONCE_TTL_MS = 7 * 24 * 3600_000;

/**
 * Guards a side effect against redelivery: the result of `key`'s first successful run is kept,
 * and later runs return it instead of acting again. The side effect itself must tolerate being
 * started twice (find-or-create), because a crash between acting and recording repeats it.
 *
 * Records live in the owner's key space of `agency-once`, `<owner>.<key>`, the only one its NATS
 * user may write (bus-permissions.ts). A record of the shape before, `<owner>_<key>` in one token,
 * is still honoured: written by a replica of the version before, it guards a command redelivered
 * across the upgrade. The bucket's TTL ends those records a week after the last old replica
 * stopped; then the fallback finds nothing, and it and its read grant can go.
 */
export class IdempotencyStore {
  private readonly store: RetryingLazy<KvStore<Recorded<unknown>>>;

  constructor(
    bus: BusConnection,
    readonly owner: ServiceName,
  ) {
    this.store = KvStore.lazy<Recorded<unknown>>(bus, BUCKETS.once, { ttl: ONCE_TTL_MS, history: 1 });
  }

  private open(): Promise<KvStore<Recorded<unknown>>> {
    return this.store.get();
  }

  /** Where `key` is recorded now, and where the version before recorded it. */
  keysOf(key: string): { key: string; legacy: string } {
    const safe = (k: string) => k.replace(/[^A-Za-z0-9_=.-]/g, '_');
    return { key: ownedKey(this.owner, safe(key)), legacy: safe(`${this.owner}:${key}`) };
  }

  /** `key` names the effect within the owner (`<sagaId>:<step>:<attempt>`), without the owner's name. */
  async once<T>(key: string, action: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
    const store = await this.open();
    const keys = this.keysOf(key);
    const existing = (await store.get(keys.key)) ?? (keys.legacy.includes('.') ? undefined : await store.get(keys.legacy));
    if (existing) return { result: existing.value.result as T, replayed: true };
    const result = await action();
    const created = await store.create(keys.key, { result, at: new Date().toISOString() });
    if (created === undefined) {
      const winner = await store.get(keys.key);
      return { result: (winner?.value.result as T) ?? result, replayed: true };
    }
    return { result, replayed: false };
  }
}
