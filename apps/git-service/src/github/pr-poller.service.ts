import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { PrReviewedEvent } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import type { PrOrigin } from '../forge/forge.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';
import { PrOriginStore } from '../pr/pr-origin.store.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { GitHubApiClient, type GhPullItem } from './github-api.client.js';
import { githubAuthMode } from './github-credentials.js';
import { frIdOfBranch } from './github-pr.mapper.js';
import { PrNewsPublisher, type PrNews } from './pr-news.publisher.js';

/** What one pass did, for logs and tests. */
export interface PollReport {
  /** Conditional reads GitHub answered 304 (nothing new; no rate limit spent). */
  notModified: number;
  /** Reads that returned data. */
  read: number;
  /** Events published (merges, closes, reviews). */
  announced: number;
  failures: number;
}

const REVIEW_STATES: Record<string, PrReviewedEvent['state']> = { APPROVED: 'approved', CHANGES_REQUESTED: 'changes_requested', COMMENTED: 'commented' };

/**
 * Merge, close and review detection without webhooks: every GITHUB_POLL_SECONDS, each GitHub
 * repository's most recently updated PRs are read with If-None-Match (GitHub answers 304 while
 * nothing changed, free of rate limit); an agency PR (one git-service opened and keeps a record of)
 * whose updated_at moved is looked at: merged or closed becomes pr-merged or pr-closed, and an open
 * one's reviews (read conditionally too) become pr-reviewed. PrNewsPublisher tells each piece of
 * news once, whether the poller or a webhook saw it first. Polling is the fallback: with webhooks
 * set up it only confirms what they said.
 */
@Injectable()
export class GitHubPrPoller implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly etags = new Map<string, string>();
  /** updated_at of each agency PR when it was last looked at, by `<repo>#<number>`. */
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly config: GitServiceConfig,
    @Inject(ForgeConfigRepository) private readonly repos: Pick<ForgeConfigRepository, 'githubRepos'>,
    @Inject(GitHubApiClient) private readonly api: Pick<GitHubApiClient, 'pullsUpdatedSince' | 'reviewsOf'>,
    @Inject(PrOriginStore) private readonly origins: Pick<PrOriginStore, 'get'>,
    @Inject(PrNewsPublisher) private readonly news: Pick<PrNewsPublisher, 'announce'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.GITHUB_POLL_SECONDS === 0 || githubAuthMode(this.config) === 'none') return;
    this.schedule();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pollOnce()
        .catch((e: unknown) => this.logger.warn({ err: (e as Error).message }, 'polling GitHub failed'))
        .finally(() => this.schedule());
    }, this.config.GITHUB_POLL_SECONDS * 1000);
    this.timer.unref();
  }

  /** One pass over every GitHub repository; a repository that fails is tried again next pass. */
  async pollOnce(): Promise<PollReport> {
    const report: PollReport = { notModified: 0, read: 0, announced: 0, failures: 0 };
    for (const repo of this.repos.githubRepos()) {
      try {
        await this.pollRepo(repo, report);
      } catch (e) {
        report.failures += 1;
        this.logger.warn({ repo: repo.name, err: (e as Error).message }, 'polling the PRs of a GitHub repository failed; trying again next pass');
      }
    }
    if (report.announced || report.failures) this.logger.info({ ...report }, 'GitHub poll');
    return report;
  }

  private async pollRepo(repo: ForgeRepoRef, report: PollReport): Promise<void> {
    const listed = await this.api.pullsUpdatedSince(repo, this.etags.get(repo.name));
    if (listed === 'not-modified') {
      report.notModified += 1;
      return;
    }
    report.read += 1;
    for (const pull of listed.data) {
      const key = `${repo.name}#${pull.number}`;
      if (!frIdOfBranch(pull.head.ref) || this.seen.get(key) === pull.updated_at) continue;
      const origin = await this.origins.get(repo, pull.number);
      // Only PRs git-service opened: their record remembers what was announced, across restarts.
      if (origin && origin.frId === frIdOfBranch(pull.head.ref)) await this.lookAt(repo, pull, origin, report);
      this.seen.set(key, pull.updated_at);
    }
    // Only once every PR of the page was handled: a failure above makes the next pass read it again.
    if (listed.etag) this.etags.set(repo.name, listed.etag);
  }

  private async lookAt(repo: ForgeRepoRef, pull: GhPullItem, origin: PrOrigin, report: PollReport): Promise<void> {
    const announce = async (news: PrNews) => {
      if (await this.news.announce(repo, pull.number, origin, news)) report.announced += 1;
    };
    if (pull.merged_at && pull.merge_commit_sha)
      return announce({ kind: 'merged', payload: { number: pull.number, url: pull.html_url, mergeSha: pull.merge_commit_sha } });
    if (pull.state === 'closed') return announce({ kind: 'closed', payload: { number: pull.number, url: pull.html_url } });
    const etagKey = `${repo.name}#${pull.number}/reviews`;
    const reviews = await this.api.reviewsOf(repo, pull.number, this.etags.get(etagKey));
    if (reviews === 'not-modified') {
      report.notModified += 1;
      return;
    }
    report.read += 1;
    for (const review of reviews.data) {
      const state = REVIEW_STATES[review.state];
      if (!state) continue;
      await announce({
        kind: 'reviewed',
        newsId: `review:${review.id}`,
        payload: { number: pull.number, state, author: (review.user?.login ?? 'unknown').slice(0, 200), body: (review.body ?? '').slice(0, 65_536) },
      });
    }
    if (reviews.etag) this.etags.set(etagKey, reviews.etag);
  }
}
