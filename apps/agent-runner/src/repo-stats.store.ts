import { Injectable } from '@nestjs/common';
import { BUCKETS, repoStatsKey, type RepoStatsRecord } from '@agency/contracts';
import { BusConnection, KvStore, RetryingLazy } from '@agency/messaging';

/**
 * Writes what the runner learnt about a repository when it listed its files at a base commit
 * (KV `agency-repos`, one value per repository, the latest listing wins). The router reads it
 * to score repo_size; nothing here is needed for the runner's own work.
 */
@Injectable()
export class RepoStatsStore {
  private readonly store: RetryingLazy<KvStore<RepoStatsRecord>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<RepoStatsRecord>(bus, BUCKETS.repos, { history: 1 });
  }

  private open(): Promise<KvStore<RepoStatsRecord>> {
    return this.store.get();
  }

  async record(repo: string, stats: RepoStatsRecord): Promise<void> {
    await (await this.open()).put(repoStatsKey(repo), stats);
  }
}
