import { Injectable } from '@nestjs/common';
import { BusConnection, KvStore, RetryingLazy } from '@agency/messaging';

/** The KV bucket of spend: shared by gateway replicas, kept across restarts. */
export const BUDGET_BUCKET = 'agency-budgets';

export interface SpendRecord {
  spentUsd: number;
  calls: number;
  updatedAt: string;
}

/** Spend per budget key (`fr.FR-054`, `key.tools.2026-11`) in the agency-budgets KV bucket. */
@Injectable()
export class SpendStore {
  private readonly kv: RetryingLazy<KvStore<SpendRecord>>;

  constructor(bus: BusConnection) {
    this.kv = KvStore.lazy<SpendRecord>(bus, BUDGET_BUCKET, { history: 1 });
  }

  private store(): Promise<KvStore<SpendRecord>> {
    return this.kv.get();
  }

  async spent(key: string): Promise<number> {
    return (await (await this.store()).get(key))?.value.spentUsd ?? 0;
  }

  /** Adds `usd` spent by `calls` calls, with compare-and-set (replicas add concurrently); returns the new total. */
  async add(key: string, usd: number, now: Date, calls = 1): Promise<number> {
    const result = await (await this.store()).mutate(key, (current) => ({
      spentUsd: Math.round(((current?.spentUsd ?? 0) + usd) * 1e9) / 1e9,
      calls: (current?.calls ?? 0) + calls,
      updatedAt: now.toISOString(),
    }));
    return result!.value.spentUsd;
  }
}
