import { Injectable } from '@nestjs/common';
import { BUCKETS, repoStatsKey, type RepoStatsRecord } from '@agency/contracts';
import { BusConnection, KvStore, RetryingLazy } from '@agency/messaging';

/**
 * What the agent-runner last recorded about a repository when a plan listed its files at the base
 * commit (KV `agency-repos`). Undefined until the first plan of that repository has run.
 */
@Injectable()
export class RepoStatsReader {
  private store?: RetryingLazy<KvStore<RepoStatsRecord>>;

  constructor(private readonly bus: BusConnection) {}

  private open(): Promise<KvStore<RepoStatsRecord>> {
    // Same options as the runner's writer: whichever service comes first creates the bucket.
    this.store ??= new RetryingLazy(() => KvStore.open<RepoStatsRecord>(this.bus, BUCKETS.repos, { history: 1 }));
    return this.store.get();
  }

  async get(repo: string): Promise<RepoStatsRecord | undefined> {
    return (await (await this.open()).get(repoStatsKey(repo)))?.value;
  }
}
