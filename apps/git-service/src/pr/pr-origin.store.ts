import { BUCKETS } from '@agency/contracts';
import { Injectable } from '@nestjs/common';
import { BusConnection, KvStore, RetryingLazy } from '@agency/messaging';
import type { PrOrigin, PrPush } from '../forge/forge.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';

/** KV bucket of the PRs git-service opened on remote forges (GitHub keeps no FR ids of its own). */
export const PR_ORIGINS_BUCKET = BUCKETS.prs;

/** What git-service remembers of a PR it opened: whose it is, the heads it pushed, and the news of it already told the saga. */
export interface PrOriginRecord extends PrOrigin {
  branch: string;
  pushes: PrPush[];
  /** News announced on the bus (a webhook's or the poller's): `merged`, `closed`, `review:<id>`, `comment:<id>`. */
  announced?: string[];
}

/** News of a PR kept per record: a merge or close is news once, and so is each review. */
const MAX_ANNOUNCED = 500;

export function prOriginKey(repo: Pick<ForgeRepoRef, 'forge' | 'owner' | 'repo'>, number: number): string {
  // Owner and name are [A-Za-z0-9_.-] (repoRef checks), all valid in a KV key.
  return `${repo.forge}/${repo.owner}/${repo.repo}/${number}`;
}

/**
 * The origin of each PR, so a webhook about PR #n (merged, closed, reviewed) reaches the saga
 * that opened it. The hidden marker in the PR body is the fallback when a record is missing.
 */
@Injectable()
export class PrOriginStore {
  private readonly store: RetryingLazy<KvStore<PrOriginRecord>>;

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<PrOriginRecord>(bus, PR_ORIGINS_BUCKET, { history: 1 });
  }

  private open(): Promise<KvStore<PrOriginRecord>> {
    return this.store.get();
  }

  async get(repo: ForgeRepoRef, number: number): Promise<PrOriginRecord | undefined> {
    return (await (await this.open()).get(prOriginKey(repo, number)))?.value;
  }

  /**
   * Records the run working on the PR and the head it now has (a push is added when the head
   * moved); compare-and-set, so concurrent writers do not lose pushes.
   */
  async record(repo: ForgeRepoRef, number: number, origin: PrOrigin, branch: string, push: PrPush): Promise<PrOriginRecord> {
    const kv = await this.open();
    const saved = await kv.mutate(prOriginKey(repo, number), (current) => {
      const pushes = current?.pushes ?? [];
      const moved = pushes.at(-1)?.headSha !== push.headSha;
      const next: PrOriginRecord = {
        frId: origin.frId,
        sagaId: origin.sagaId,
        ...(origin.jobId ? { jobId: origin.jobId } : {}),
        branch,
        pushes: moved ? [...pushes, push] : pushes,
        ...(current?.announced ? { announced: current.announced } : {}),
      };
      return JSON.stringify(next) === JSON.stringify(current) ? undefined : next;
    });
    return saved!.value;
  }

  /** Whether `news` of PR #number was announced already (false without a record). */
  async announced(repo: ForgeRepoRef, number: number, news: string): Promise<boolean> {
    return (await this.get(repo, number))?.announced?.includes(news) ?? false;
  }

  /** Remembers that `news` was announced (compare-and-set); a PR without a record keeps nothing. */
  async markAnnounced(repo: ForgeRepoRef, number: number, news: string): Promise<void> {
    const kv = await this.open();
    await kv.mutate(prOriginKey(repo, number), (current) => {
      if (!current || current.announced?.includes(news)) return undefined;
      return { ...current, announced: [...(current.announced ?? []), news].slice(-MAX_ANNOUNCED) };
    });
  }
}
