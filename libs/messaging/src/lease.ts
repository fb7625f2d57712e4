import { RetryingLazy } from './retrying-lazy.js';
import { BUCKETS } from '@agency/contracts';
import type { BusConnection } from './bus-connection.js';
import type { Clock } from './clock.js';
import { KvStore, RevisionConflictError } from './kv.store.js';

interface LeaseRecord {
  holder: string;
  expiresAt: number;
}

/**
 * A named lease in KV (`agency-leases`): at most one holder at a time, taken over when the
 * holder stops renewing. Used where exactly one replica must act (dispatcher, sweeper).
 */
export class Lease {
  private readonly store: RetryingLazy<KvStore<LeaseRecord>>;

  constructor(
    bus: BusConnection,
    private readonly clock: Clock,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {
    this.store = KvStore.lazy<LeaseRecord>(bus, BUCKETS.leases, { history: 1 });
  }

  private open(): Promise<KvStore<LeaseRecord>> {
    return this.store.get();
  }

  /** Takes or renews the lease; true while this holder has it. */
  async acquire(): Promise<boolean> {
    const store = await this.open();
    const now = this.clock.nowMs();
    const mine: LeaseRecord = { holder: this.holder, expiresAt: now + this.ttlMs };
    const current = await store.get(this.name);
    try {
      if (!current) return (await store.create(this.name, mine)) !== undefined;
      if (current.value.holder !== this.holder && current.value.expiresAt > now) return false;
      await store.update(this.name, mine, current.revision);
      return true;
    } catch (e) {
      if (e instanceof RevisionConflictError) return false;
      throw e;
    }
  }

  /** Gives the lease up at shutdown so a standby takes over at once. */
  async release(): Promise<void> {
    const store = await this.open();
    const current = await store.get(this.name);
    if (current?.value.holder !== this.holder) return;
    await store.update(this.name, { holder: this.holder, expiresAt: 0 }, current.revision).catch(() => undefined);
  }
}
