import { Injectable } from '@nestjs/common';
import { BUCKETS } from '@agency/contracts';
import { BusConnection, KvStore, type Versioned, RetryingLazy } from '@agency/messaging';
import type { Job } from './job.model.js';

export interface DispatchControl {
  paused: boolean;
  by: string;
  at: string;
}

const CONTROL_KEY = 'control.dispatch';

/** Jobs in the `agency-jobs` KV bucket, one key per job, updated with compare-and-set. */
@Injectable()
export class JobRepository {
  private readonly store: RetryingLazy<KvStore<Job>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<Job>(bus, BUCKETS.jobs, { history: 10 });
  }

  private open(): Promise<KvStore<Job>> {
    return this.store.get();
  }

  async get(jobId: string): Promise<Versioned<Job> | undefined> {
    return (await this.open()).get(jobId);
  }

  /** Returns false when a job with this id already exists. */
  async create(job: Job): Promise<boolean> {
    return (await (await this.open()).create(job.jobId, job)) !== undefined;
  }

  async update(job: Job, revision: number): Promise<number> {
    return (await this.open()).update(job.jobId, job, revision);
  }

  async mutate(jobId: string, change: (job: Job | undefined) => Job | undefined): Promise<Versioned<Job> | undefined> {
    return (await this.open()).mutate(jobId, change);
  }

  async all(): Promise<Array<Versioned<Job>>> {
    return (await (await this.open()).values()).filter((v) => v.key !== CONTROL_KEY);
  }

  /** Registry-wide switches (pause), beside the jobs under a key no job id can take. */
  async getControl(): Promise<DispatchControl | undefined> {
    return ((await (await this.open()).get(CONTROL_KEY)) as Versioned<DispatchControl> | undefined)?.value;
  }

  async putControl(control: DispatchControl): Promise<void> {
    await (await this.open()).put(CONTROL_KEY, control as unknown as Job);
  }
}
