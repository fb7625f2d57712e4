import { Injectable } from '@nestjs/common';
import { BusConnection, KvStore, RetryingLazy } from '@agency/messaging';

/** The KV bucket of spend: shared by gateway replicas, kept across restarts. */
export const BUDGET_BUCKET = 'agency-budgets';

/** How long a record remembers a writer's last batch: a batch retried later than this could count twice. */
export const WRITER_MEMORY_MS = 7 * 24 * 3600 * 1000;

export interface SpendRecord {
  spentUsd: number;
  calls: number;
  updatedAt: string;
  /**
   * The last batch each writer (a gateway process) added, so a batch written again (its first
   * write timed out but had landed) is not counted twice.
   */
  writers?: Record<string, { seq: number; at: string }>;
}

/** Charges of one writer for one key, numbered in the order they are written. */
export interface SpendBatch {
  writer: string;
  seq: number;
  usd: number;
  calls: number;
}

/** What KV holds for a key: the total, and the last batch of each writer it has counted. */
export interface StoredSpend {
  spentUsd: number;
  applied: ReadonlyMap<string, number>;
}

const NOTHING: StoredSpend = { spentUsd: 0, applied: new Map() };

function storedOf(record: SpendRecord | undefined): StoredSpend {
  if (!record) return NOTHING;
  return { spentUsd: record.spentUsd, applied: new Map(Object.entries(record.writers ?? {}).map(([w, v]) => [w, v.seq])) };
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

  async read(key: string): Promise<StoredSpend> {
    return storedOf((await (await this.store()).get(key))?.value);
  }

  /**
   * Adds a batch with compare-and-set (replicas add concurrently), at most once: a batch the
   * record already counted (same writer, same or lower number) changes nothing. Returns the record.
   */
  async add(key: string, batch: SpendBatch, now: Date): Promise<StoredSpend> {
    const result = await (
      await this.store()
    ).mutate(key, (current) => {
      if ((current?.writers?.[batch.writer]?.seq ?? 0) >= batch.seq) return undefined;
      const writers: Record<string, { seq: number; at: string }> = {};
      for (const [w, v] of Object.entries(current?.writers ?? {})) if (now.getTime() - Date.parse(v.at) < WRITER_MEMORY_MS) writers[w] = v;
      writers[batch.writer] = { seq: batch.seq, at: now.toISOString() };
      return {
        spentUsd: Math.round(((current?.spentUsd ?? 0) + batch.usd) * 1e9) / 1e9,
        calls: (current?.calls ?? 0) + batch.calls,
        updatedAt: now.toISOString(),
        writers,
      };
    });
    return storedOf(result?.value);
  }
}
