import { Injectable } from '@nestjs/common';
import { BUCKETS } from '@agency/contracts';
import { BusConnection, dayOf, KvStore, RetryingLazy } from '@agency/messaging';

interface ActiveIndex {
  /** sagaId -> when it became active. */
  sagas: Record<string, string>;
}

interface FinishedDay {
  sagas: string[];
}

interface ArchivedThrough {
  /** The last day whose finished runs were archived. */
  day: string;
}

type IndexValue = ActiveIndex | FinishedDay | ArchivedThrough;

const ACTIVE_KEY = 'index.active';
/** Written once the index was built from a store that predates it. */
const BUILT_KEY = 'index.built';
const ARCHIVED_KEY = 'index.archived-through';
const DAY_PREFIX = 'index.finished.';
const dayKey = (day: string) => `${DAY_PREFIX}${day}`;

/**
 * The saga bucket's indexes, so the service's own work never reads finished runs: the active
 * sagas (one key; a superset: a saga is added before it becomes active and removed only once it
 * is finished with its effects carried out), and the runs finished on each day (what archival
 * expires). Each read is one key, whatever the history.
 */
@Injectable()
export class SagaIndexRepository {
  private readonly store: RetryingLazy<KvStore<IndexValue>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<IndexValue>(bus, BUCKETS.sagas, { history: 10 });
  }

  private open(): Promise<KvStore<IndexValue>> {
    return this.store.get();
  }

  /** Whether the index was built (a store from before the index has sagas but no index). */
  async built(): Promise<boolean> {
    return (await (await this.open()).get(BUILT_KEY)) !== undefined;
  }

  async markBuilt(at: Date): Promise<void> {
    await (await this.open()).put(BUILT_KEY, { sagas: [at.toISOString()] });
  }

  async active(): Promise<string[]> {
    const v = (await (await this.open()).get(ACTIVE_KEY))?.value as ActiveIndex | undefined;
    return Object.keys(v?.sagas ?? {});
  }

  async activate(sagaId: string, at: Date): Promise<void> {
    await (
      await this.open()
    ).mutate(ACTIVE_KEY, (current) => {
      const sagas = (current as ActiveIndex | undefined)?.sagas ?? {};
      return sagaId in sagas ? undefined : { sagas: { ...sagas, [sagaId]: at.toISOString() } };
    });
  }

  /** A finished run leaves the active index for the day it finished (added there first, so a crash in between loses neither). */
  async finish(sagaId: string, at: Date): Promise<void> {
    const store = await this.open();
    await store.mutate(dayKey(dayOf(at)), (current) => {
      const sagas = (current as FinishedDay | undefined)?.sagas ?? [];
      return sagas.includes(sagaId) ? undefined : { sagas: [...sagas, sagaId] };
    });
    await this.forget(sagaId);
  }

  /** Drops a saga from the active index (finished, or gone). */
  async forget(sagaId: string): Promise<void> {
    await (
      await this.open()
    ).mutate(ACTIVE_KEY, (current) => {
      const sagas = (current as ActiveIndex | undefined)?.sagas ?? {};
      if (!(sagaId in sagas)) return undefined;
      const { [sagaId]: _gone, ...rest } = sagas;
      return { sagas: rest };
    });
  }

  async finishedOn(day: string): Promise<string[]> {
    return ((await (await this.open()).get(dayKey(day)))?.value as FinishedDay | undefined)?.sagas ?? [];
  }

  /**
   * What people's listings show: every active saga and the newest `finishedLimit` of those
   * finished within the retention (days newest first, each day's list in finishing order), so a
   * listing costs the same whatever the history; `notListed` counts the finished ones left out.
   */
  async listed(now: Date, retentionHours: number, finishedLimit: number): Promise<{ ids: string[]; notListed: number }> {
    const ids = new Set(await this.active());
    const DAY = 24 * 3600_000;
    let room = finishedLimit;
    let notListed = 0;
    for (let t = now.getTime() + DAY; t >= now.getTime() - retentionHours * 3600_000 - DAY; t -= DAY) {
      const finished = (await this.finishedOn(dayOf(new Date(t)))).filter((id) => !ids.has(id));
      const taken = room > 0 ? finished.slice(-room) : [];
      for (const id of taken) ids.add(id);
      room -= taken.length;
      notListed += finished.length - taken.length;
    }
    return { ids: [...ids], notListed };
  }

  async dropDay(day: string): Promise<void> {
    await (await this.open()).erase(dayKey(day));
  }

  /** The last day archival went through, so a pass picks up where the last one stopped however long ago. */
  async archivedThrough(): Promise<string | undefined> {
    return ((await (await this.open()).get(ARCHIVED_KEY))?.value as ArchivedThrough | undefined)?.day;
  }

  async markArchivedThrough(day: string): Promise<void> {
    await (await this.open()).put(ARCHIVED_KEY, { day });
  }

  /**
   * Every day a run was ever filed under, oldest first (dropped days too: their key's purge marker
   * stays). One listing of the bucket's subjects, only for the first archival pass of a store, when
   * there is no mark to start from.
   */
  async finishedDays(): Promise<string[]> {
    return (await (await this.open()).keys(`${DAY_PREFIX}>`)).map((key) => key.slice(DAY_PREFIX.length)).sort();
  }
}
