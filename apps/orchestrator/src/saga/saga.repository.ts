import { Injectable } from '@nestjs/common';
import { BUCKETS } from '@agency/contracts';
import { BusConnection, KvStore, type Versioned, RetryingLazy } from '@agency/messaging';
import type { FrIndexEntry, SagaRecord } from './saga.model.js';

type Stored = SagaRecord | FrIndexEntry;

/**
 * Sagas in the `agency-sagas` KV bucket: `saga.<sagaId>` holds a run, `fr.<frId>` points at the
 * FR's current run. Every write is compare-and-set on the revision that was read.
 */
@Injectable()
export class SagaRepository {
  private readonly store: RetryingLazy<KvStore<Stored>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<Stored>(bus, BUCKETS.sagas, { history: 10 });
  }

  private open(): Promise<KvStore<Stored>> {
    return this.store.get();
  }

  async get(sagaId: string): Promise<Versioned<SagaRecord> | undefined> {
    return (await (await this.open()).get(`saga.${sagaId}`)) as Versioned<SagaRecord> | undefined;
  }

  /** Returns false when the saga already exists. */
  async create(record: SagaRecord): Promise<boolean> {
    return (await (await this.open()).create(`saga.${record.sagaId}`, record)) !== undefined;
  }

  /** Throws RevisionConflictError when another writer got there first. */
  async update(record: SagaRecord, revision: number): Promise<number> {
    return (await this.open()).update(`saga.${record.sagaId}`, record, revision);
  }

  async currentRun(frId: string): Promise<Versioned<FrIndexEntry> | undefined> {
    return (await (await this.open()).get(`fr.${frId}`)) as Versioned<FrIndexEntry> | undefined;
  }

  /** Claims the FR for a run: create-once for the first run, compare-and-set for the next ones. */
  async claimRun(entry: FrIndexEntry, previousRevision?: number): Promise<boolean> {
    const store = await this.open();
    if (previousRevision === undefined) return (await store.create(`fr.${entry.frId}`, entry)) !== undefined;
    try {
      await store.update(`fr.${entry.frId}`, entry, previousRevision);
      return true;
    } catch {
      return false;
    }
  }

  async all(): Promise<SagaRecord[]> {
    const store = await this.open();
    return (await store.values('saga.>')).map((v) => v.value as SagaRecord);
  }
}
