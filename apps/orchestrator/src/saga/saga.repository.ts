import { Injectable } from '@nestjs/common';
import { BUCKETS } from '@agency/contracts';
import { BusConnection, KvStore, RevisionConflictError, RetryingLazy, type Versioned } from '@agency/messaging';
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

  /**
   * A compare-and-set change outside the state machine (bookkeeping: the outbox carried out, the
   * FR file's new path). `change` returns undefined to leave the record as it is; the result is
   * the record as stored after the call (undefined when there is no such saga).
   */
  async mutate(sagaId: string, change: (r: SagaRecord) => SagaRecord | undefined): Promise<Versioned<SagaRecord> | undefined> {
    for (let i = 0; i < 10; i += 1) {
      const current = await this.get(sagaId);
      if (!current) return undefined;
      const next = change(current.value);
      if (!next) return current;
      try {
        return { value: next, revision: await this.update(next, current.revision) };
      } catch (e) {
        if (!(e instanceof RevisionConflictError)) throw e;
      }
    }
    throw new RevisionConflictError(BUCKETS.sagas, `saga.${sagaId}`);
  }

  async currentRun(frId: string): Promise<Versioned<FrIndexEntry> | undefined> {
    return (await (await this.open()).get(`fr.${frId}`)) as Versioned<FrIndexEntry> | undefined;
  }

  /** The FR's current run, when it still has one (an archived run leaves only the pointer). */
  async currentOf(frId: string): Promise<Versioned<SagaRecord> | undefined> {
    const index = await this.currentRun(frId);
    return index ? this.get(index.value.sagaId) : undefined;
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

  /** The sagas of these ids that are stored (people's listings: the ids come from the index, never from listing the bucket). */
  async many(sagaIds: readonly string[]): Promise<SagaRecord[]> {
    const out: SagaRecord[] = [];
    for (const id of sagaIds) {
      const r = await this.get(id);
      if (r) out.push(r.value);
    }
    return out;
  }

  /**
   * Every saga stored, read once when the index is built for a store that has none (sagas written
   * before the index existed); the service's own work never lists the bucket otherwise.
   */
  async scanAll(): Promise<SagaRecord[]> {
    const store = await this.open();
    return (await store.values('saga.>')).map((v) => v.value as SagaRecord);
  }

  /**
   * Archives a finished run: its record and history leave the bucket (the FR file and the audit
   * stream keep its story). Only the record as read: a run a person retried since is kept (false).
   */
  async erase(stored: Versioned<SagaRecord>): Promise<boolean> {
    const store = await this.open();
    const record = stored.value;
    // The FR's pointer says so first, so a missing record is never taken for a claim a crash cut
    // short (a pointer marked for a record that stays is harmless: the record is read first).
    await store.mutate(`fr.${record.frId}`, (v) => {
      const entry = v as FrIndexEntry | undefined;
      return entry && entry.sagaId === record.sagaId && !entry.archived ? { ...entry, archived: true } : undefined;
    });
    try {
      await store.erase(`saga.${record.sagaId}`, stored.revision);
      return true;
    } catch (e) {
      if (e instanceof RevisionConflictError) return false;
      throw e;
    }
  }
}
