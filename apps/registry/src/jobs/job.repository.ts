import { Injectable } from '@nestjs/common';
import { BUCKETS } from '@agency/contracts';
import { BusConnection, dayOf, KvStore, type Versioned, RetryingLazy } from '@agency/messaging';
import type { Job } from './job.model.js';

export interface DispatchControl {
  paused: boolean;
  by: string;
  at: string;
}

interface LiveIndex {
  /** jobId -> when it was listed. */
  jobs: Record<string, string>;
}

interface FinishedDay {
  jobs: string[];
}

interface ArchivedThrough {
  /** The last day whose finished jobs were archived. */
  day: string;
}

type Stored = Job | DispatchControl | LiveIndex | FinishedDay | ArchivedThrough;

const CONTROL_KEY = 'control.dispatch';
const LIVE_KEY = 'index.live';
/** Written once the indexes were built from a store that predates them. */
const BUILT_KEY = 'index.built';
const ARCHIVED_KEY = 'index.archived-through';
const DAY_PREFIX = 'index.finished.';
const dayKey = (day: string) => `${DAY_PREFIX}${day}`;

/**
 * Jobs in the `agency-jobs` KV bucket, one key per job, updated with compare-and-set; beside them
 * the index of live (queued or running) jobs, one key, which dispatch passes and positions read
 * instead of every job ever stored, and the jobs finished each day, which archival expires.
 */
@Injectable()
export class JobRepository {
  private readonly store: RetryingLazy<KvStore<Stored>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<Stored>(bus, BUCKETS.jobs, { history: 10 });
  }

  private open(): Promise<KvStore<Stored>> {
    return this.store.get();
  }

  async get(jobId: string): Promise<Versioned<Job> | undefined> {
    return (await (await this.open()).get(jobId)) as Versioned<Job> | undefined;
  }

  /** Returns false when a job with this id already exists. It is listed as live first (the index may hold more, never less). */
  async create(job: Job): Promise<boolean> {
    await this.markLive(job.jobId, job.enqueuedAt);
    return (await (await this.open()).create(job.jobId, job)) !== undefined;
  }

  async mutate(jobId: string, change: (job: Job | undefined) => Job | undefined): Promise<Versioned<Job> | undefined> {
    return (await (await this.open()).mutate(jobId, (v) => change(v as Job | undefined))) as Versioned<Job> | undefined;
  }

  /** The live jobs, read through the index (one key, then each listed job). */
  async live(): Promise<Job[]> {
    const store = await this.open();
    const ids = Object.keys(((await store.get(LIVE_KEY))?.value as LiveIndex | undefined)?.jobs ?? {});
    const jobs: Job[] = [];
    for (const id of ids) {
      const job = (await store.get(id))?.value as Job | undefined;
      if (job && (job.state === 'queued' || job.state === 'running')) jobs.push(job);
      // Finished (a crash between the outcome and the index) or gone: the index catches up.
      else await this.finished(id, job?.finishedAt ? new Date(job.finishedAt) : new Date());
    }
    return jobs;
  }

  private async markLive(jobId: string, at: string): Promise<void> {
    await (
      await this.open()
    ).mutate(LIVE_KEY, (v) => {
      const jobs = (v as LiveIndex | undefined)?.jobs ?? {};
      return jobId in jobs ? undefined : { jobs: { ...jobs, [jobId]: at } };
    });
  }

  /** A finished job leaves the live index for the day it finished (added there first, so a crash in between loses neither). */
  async finished(jobId: string, at: Date): Promise<void> {
    const store = await this.open();
    await store.mutate(dayKey(dayOf(at)), (v) => {
      const jobs = (v as FinishedDay | undefined)?.jobs ?? [];
      return jobs.includes(jobId) ? undefined : { jobs: [...jobs, jobId] };
    });
    await store.mutate(LIVE_KEY, (v) => {
      const jobs = (v as LiveIndex | undefined)?.jobs ?? {};
      if (!(jobId in jobs)) return undefined;
      const { [jobId]: _gone, ...rest } = jobs;
      return { jobs: rest };
    });
  }

  async finishedOn(day: string): Promise<string[]> {
    return ((await (await this.open()).get(dayKey(day)))?.value as FinishedDay | undefined)?.jobs ?? [];
  }

  /** Archives a finished job (its key and history leave the bucket), then the day's list once done. */
  async erase(jobId: string): Promise<void> {
    await (await this.open()).erase(jobId);
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

  /** Every day a job was ever filed under, oldest first: one listing of the bucket's subjects, for a store's first archival pass only. */
  async finishedDays(): Promise<string[]> {
    return (await (await this.open()).keys(`${DAY_PREFIX}>`)).map((key) => key.slice(DAY_PREFIX.length)).sort();
  }

  /** The jobs still stored: the live ones and those finished within the retention (people's listings: from the indexes, never a listing of the bucket). */
  async stored(now: Date, retentionHours: number): Promise<Job[]> {
    const store = await this.open();
    const ids = new Set(Object.keys(((await store.get(LIVE_KEY))?.value as LiveIndex | undefined)?.jobs ?? {}));
    const DAY = 24 * 3600_000;
    for (let t = now.getTime() - retentionHours * 3600_000 - DAY; t <= now.getTime() + DAY; t += DAY)
      for (const id of await this.finishedOn(dayOf(new Date(t)))) ids.add(id);
    const jobs: Job[] = [];
    for (const id of ids) {
      const job = (await store.get(id))?.value as Job | undefined;
      if (job) jobs.push(job);
    }
    return jobs;
  }

  /**
   * A store written before the index existed has jobs but no index: it is built once, from one
   * read of every job (live ones listed, finished ones filed under the day they finished).
   */
  async buildIndex(now: Date): Promise<number> {
    const store = await this.open();
    if (await store.get(BUILT_KEY)) return 0;
    const jobs = (await store.values()).filter((v) => !v.key.startsWith('index.') && v.key !== CONTROL_KEY).map((v) => v.value as Job);
    for (const job of jobs) {
      if (job.state === 'queued' || job.state === 'running') await this.markLive(job.jobId, job.enqueuedAt);
      else await this.finished(job.jobId, new Date(job.finishedAt ?? now));
    }
    await store.put(BUILT_KEY, { at: now.toISOString() } as unknown as Stored);
    return jobs.length;
  }

  /** Registry-wide switches (pause), beside the jobs under a key no job id can take. */
  async getControl(): Promise<DispatchControl | undefined> {
    return ((await (await this.open()).get(CONTROL_KEY)) as Versioned<DispatchControl> | undefined)?.value;
  }

  async putControl(control: DispatchControl): Promise<void> {
    await (await this.open()).put(CONTROL_KEY, control);
  }
}
