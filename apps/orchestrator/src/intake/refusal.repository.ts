import { Injectable } from '@nestjs/common';
import { BUCKETS, type RefusedFrSummary } from '@agency/contracts';
import { BusConnection, KvStore, RetryingLazy } from '@agency/messaging';

/** The key of a refusal: the FR id when the file gives one, else the file's name. */
export function refusalKey(r: Pick<RefusedFrSummary, 'frId' | 'path'>): string {
  return `refused.${(r.frId ?? r.path.split('/').pop()!).replace(/[^A-Za-z0-9_=-]/g, '_')}`;
}

/**
 * FR files the intake refused (or holds), in the saga bucket under `refused.<FR id or name>`:
 * people see them in `status` and the dashboard although they have no saga. A refusal goes when
 * its FR is taken, or when it is older than the retention.
 */
@Injectable()
export class RefusalRepository {
  private readonly store: RetryingLazy<KvStore<RefusedFrSummary>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<RefusedFrSummary>(bus, BUCKETS.sagas, { history: 10 });
  }

  private open(): Promise<KvStore<RefusedFrSummary>> {
    return this.store.get();
  }

  async put(refusal: RefusedFrSummary): Promise<void> {
    await (await this.open()).put(refusalKey(refusal), refusal);
  }

  async get(frId: string): Promise<RefusedFrSummary | undefined> {
    return (await (await this.open()).get(refusalKey({ frId, path: '' })))?.value;
  }

  async all(): Promise<RefusedFrSummary[]> {
    return (await (await this.open()).values('refused.>')).map((v) => v.value);
  }

  async clear(frId: string): Promise<void> {
    const store = await this.open();
    if (await store.get(refusalKey({ frId, path: '' }))) await store.erase(refusalKey({ frId, path: '' }));
  }

  /** Refusals older than `before` (ISO): their files were fixed, moved or forgotten long ago. */
  async expire(before: string): Promise<number> {
    const store = await this.open();
    const old = (await store.values('refused.>')).filter((v) => v.value.at < before);
    for (const v of old) await store.erase(v.key);
    return old.length;
  }
}
