import { RetryingLazy } from './retrying-lazy.js';
import { BUCKETS, ownedKey, type ServiceName } from '@agency/contracts';
import type { BusConnection } from './bus-connection.js';
import type { Clock } from './clock.js';
import { KvStore, RevisionConflictError, type Versioned } from './kv.store.js';

interface LeaseRecord {
  holder: string;
  expiresAt: number;
}

/**
 * A named lease in KV (`agency-leases`): at most one holder at a time, taken over when the
 * holder stops renewing. Used where exactly one replica of a service must act (dispatcher,
 * sweeper). Replicas of one service compete for it; no two services share a lease, so it lives
 * in the owner's key space, `<owner>.<name>`, the only one its NATS user may write.
 */
export class Lease {
  private readonly store: RetryingLazy<KvStore<LeaseRecord>>;
  /** The KV key: `<owner>.<name>`. */
  readonly key: string;
  /**
   * Where the version before kept it (`<owner>-<name>`, one token): a replica of that version
   * still renewing it there keeps the lease, so a rolling upgrade never has two acting at once.
   */
  readonly legacyKey: string;

  constructor(
    bus: BusConnection,
    private readonly clock: Clock,
    readonly owner: ServiceName,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {
    this.key = ownedKey(owner, name);
    this.legacyKey = `${owner}-${name}`;
    this.store = KvStore.lazy<LeaseRecord>(bus, BUCKETS.leases, { history: 1 });
  }

  private open(): Promise<KvStore<LeaseRecord>> {
    return this.store.get();
  }

  /** Held by someone else until after `now` (a record of the version before counts too). */
  private heldByOther(record: Versioned<LeaseRecord> | undefined, now: number): boolean {
    return record !== undefined && record.value.holder !== this.holder && record.value.expiresAt > now;
  }

  /** Takes or renews the lease; true while this holder has it. */
  async acquire(): Promise<boolean> {
    const store = await this.open();
    const now = this.clock.nowMs();
    const mine: LeaseRecord = { holder: this.holder, expiresAt: now + this.ttlMs };
    if (!this.legacyKey.includes('.') && this.heldByOther(await store.get(this.legacyKey), now)) return false;
    const current = await store.get(this.key);
    try {
      if (!current) return (await store.create(this.key, mine)) !== undefined;
      if (this.heldByOther(current, now)) return false;
      await store.update(this.key, mine, current.revision);
      return true;
    } catch (e) {
      if (e instanceof RevisionConflictError) return false;
      throw e;
    }
  }

  /** Gives the lease up at shutdown so a standby takes over at once. */
  async release(): Promise<void> {
    const store = await this.open();
    const current = await store.get(this.key);
    if (current?.value.holder !== this.holder) return;
    await store.update(this.key, { holder: this.holder, expiresAt: 0 }, current.revision).catch(() => undefined);
  }
}
