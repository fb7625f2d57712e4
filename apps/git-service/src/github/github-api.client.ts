import { Inject, Injectable, Optional } from '@nestjs/common';
import { Octokit, type RestEndpointMethodTypes } from '@octokit/rest';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { conflict, ForgeError, invalid, unavailable } from '../forge/forge.errors.js';
import type { MergeMethod } from '../forge/forge.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { GitHubCredentials } from './github-credentials.js';
import { forgeErrorOf, GitHubForgeError, httpFailureOf, isPrAlreadyExists, rateLimitWaitMs } from './github-errors.js';
import { currentTokenAuth } from './github-token-auth.js';
import { traceRequests } from './github-spans.js';

export type GhPull = RestEndpointMethodTypes['pulls']['get']['response']['data'];
export type GhPullItem = RestEndpointMethodTypes['pulls']['list']['response']['data'][number];
export type GhReview = RestEndpointMethodTypes['pulls']['listReviews']['response']['data'][number];

/** A conditional read's answer: the data and its ETag, or `not-modified` (304: no rate limit spent). */
export type Conditional<T> = { data: T; etag?: string } | 'not-modified';

export interface GhChecks {
  failing: string[];
  pending: string[];
}

/** Rate-limited calls are repeated at most this often before the command goes back to the bus. */
const MAX_RATE_LIMIT_WAITS = 3;
/** Check-run conclusions that mean "not green". */
const FAILING_CONCLUSIONS = new Set(['failure', 'timed_out', 'cancelled', 'action_required', 'startup_failure', 'stale']);

const READY_MUTATION = 'mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }';
const DRAFT_MUTATION = 'mutation($id: ID!) { convertPullRequestToDraft(input: { pullRequestId: $id }) { pullRequest { isDraft } } }';

/**
 * GitHub's REST and GraphQL API through Octokit, the one place that holds the token for it.
 * Every call waits out a short rate limit (429, or 403 with retry-after / x-ratelimit-reset) and
 * turns any other failure into a ForgeError whose message never carries the token.
 */
@Injectable()
export class GitHubApiClient {
  private cached?: { baseUrl: string; octokit: Octokit };
  private readonly credentials: GitHubCredentials;

  constructor(
    private readonly config: GitServiceConfig,
    @Inject(ForgeConfigRepository) private readonly forgeConfig: Pick<ForgeConfigRepository, 'githubApiUrl'>,
    @Inject(Clock) private readonly clock: Pick<Clock, 'nowMs' | 'sleep'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    @Optional() credentials?: GitHubCredentials,
  ) {
    this.credentials = credentials ?? new GitHubCredentials(config, forgeConfig, logger, clock);
  }

  private octokit(): Octokit {
    if (this.credentials.mode === 'none')
      throw invalid(
        'GITHUB_TOKEN_MISSING',
        'neither GITHUB_TOKEN nor GITHUB_APP_ID is set: git-service needs a credential to work with repositories on the github forge',
      );
    const baseUrl = this.forgeConfig.githubApiUrl().replace(/\/+$/, '');
    if (this.cached?.baseUrl === baseUrl) return this.cached.octokit;
    const timeoutMs = this.config.GITHUB_REQUEST_TIMEOUT_MS;
    const scrub = (m: string) => this.credentials.scrub(m);
    const debug = (message: string) => this.logger.debug({ baseUrl }, scrub(message));
    const octokit = new Octokit({
      // The token (or the app's current installation token) is asked for at each request, so a refreshed one is used at once.
      authStrategy: () => currentTokenAuth(this.credentials),
      baseUrl,
      userAgent: 'agency-git-service',
      // Octokit's own log lines (method, path, status) go to debug; failures are reported by this class.
      log: { debug, info: debug, warn: (m: string) => this.logger.warn({ baseUrl }, scrub(m)), error: debug },
      request: {
        fetch: (url: string | URL, init?: RequestInit) =>
          fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs) }),
      },
    });
    traceRequests(octokit, baseUrl);
    this.cached = { baseUrl, octokit };
    return octokit;
  }

  /** Runs one API call with the rate-limit policy; `what` names it in errors ("open PR in owner/name"). */
  async call<T>(what: string, fn: (octokit: Octokit) => Promise<T>): Promise<T> {
    const octokit = this.octokit();
    let retriedUnauthorized = false;
    for (let waits = 0; ; waits += 1) {
      try {
        return await fn(octokit);
      } catch (e) {
        const failure = httpFailureOf(e);
        if (!failure) {
          if (e instanceof Error && e.name === 'GraphqlResponseError') throw conflict('GITHUB_GRAPHQL_ERROR', this.credentials.scrub(`${what}: ${e.message}`));
          if (e instanceof ForgeError) throw e;
          throw unavailable('GITHUB_UNREACHABLE', this.credentials.scrub(`${what}: ${(e as Error).message}`));
        }
        failure.message = this.credentials.scrub(failure.message);
        // An app's installation token GitHub no longer takes (revoked): the auth hook dropped it; once more with a fresh one.
        if (failure.status === 401 && this.credentials.mode === 'app' && !retriedUnauthorized) {
          retriedUnauthorized = true;
          continue;
        }
        const wait = rateLimitWaitMs(failure, this.clock.nowMs());
        if (wait === undefined) throw forgeErrorOf(failure, what);
        if (wait > this.config.GITHUB_RATE_LIMIT_MAX_WAIT_MS || waits >= MAX_RATE_LIMIT_WAITS) {
          throw unavailable(
            'GITHUB_RATE_LIMITED',
            `${what}: GitHub's rate limit (${failure.status}) resets in ${Math.ceil(wait / 1000)} s; handing the command back for a later delivery`,
          );
        }
        this.logger.warn({ status: failure.status, waitMs: wait, what }, 'GitHub rate limit hit; waiting for it to reset');
        await this.clock.sleep(wait);
      }
    }
  }

  async getPull(repo: ForgeRepoRef, number: number): Promise<GhPull | undefined> {
    try {
      return await this.call(
        `read PR #${number} of ${repo.name}`,
        async (o) => (await o.rest.pulls.get({ owner: repo.owner, repo: repo.repo, pull_number: number })).data,
      );
    } catch (e) {
      if (e instanceof GitHubForgeError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Open PRs whose head is `branch` of the repository itself (no forks). */
  async openPullsOf(repo: ForgeRepoRef, branch: string): Promise<GhPullItem[]> {
    return this.call(
      `find the open PR of ${branch} in ${repo.name}`,
      async (o) => (await o.rest.pulls.list({ owner: repo.owner, repo: repo.repo, state: 'open', head: `${repo.owner}:${branch}`, per_page: 10 })).data,
    );
  }

  /** PRs of agency branches, newest first (one page: the HTTP API's listing, not a full history). */
  async listPulls(repo: ForgeRepoRef): Promise<GhPullItem[]> {
    return this.call(
      `list PRs of ${repo.name}`,
      async (o) => (await o.rest.pulls.list({ owner: repo.owner, repo: repo.repo, state: 'all', per_page: 100 })).data,
    );
  }

  /**
   * The repository's PRs most recently updated first (one page), sent with If-None-Match: GitHub
   * answers 304 when nothing changed, which does not count against the rate limit.
   */
  async pullsUpdatedSince(repo: ForgeRepoRef, etag: string | undefined): Promise<Conditional<GhPullItem[]>> {
    return this.conditional(`poll the PRs of ${repo.name}`, etag, (o, headers) =>
      o.rest.pulls.list({ owner: repo.owner, repo: repo.repo, state: 'all', sort: 'updated', direction: 'desc', per_page: 30, headers }),
    );
  }

  /** A PR's reviews, oldest first, conditional like pullsUpdatedSince. */
  async reviewsOf(repo: ForgeRepoRef, number: number, etag: string | undefined): Promise<Conditional<GhReview[]>> {
    return this.conditional(`read the reviews of PR #${number} of ${repo.name}`, etag, (o, headers) =>
      o.rest.pulls.listReviews({ owner: repo.owner, repo: repo.repo, pull_number: number, per_page: 100, headers }),
    );
  }

  private async conditional<T>(
    what: string,
    etag: string | undefined,
    fn: (o: Octokit, headers: Record<string, string>) => Promise<{ data: T; headers: { etag?: string } }>,
  ): Promise<Conditional<T>> {
    return this.call(what, async (o) => {
      try {
        const res = await fn(o, etag ? { 'if-none-match': etag } : {});
        return { data: res.data, ...(res.headers.etag ? { etag: res.headers.etag } : {}) };
      } catch (e) {
        if ((e as { status?: number }).status === 304) return 'not-modified' as const;
        throw e;
      }
    });
  }

  /** Opens a PR; `exists` when GitHub says an open PR of this head already exists (422). */
  async createPull(repo: ForgeRepoRef, pr: { title: string; head: string; base: string; body: string; draft: boolean }): Promise<GhPull | 'exists'> {
    try {
      return await this.call(
        `open a PR for ${pr.head} in ${repo.name}`,
        async (o) =>
          (
            await o.rest.pulls.create({
              owner: repo.owner,
              repo: repo.repo,
              title: pr.title,
              head: pr.head,
              base: pr.base,
              body: pr.body,
              draft: pr.draft,
              maintainer_can_modify: false,
            })
          ).data,
      );
    } catch (e) {
      if (e instanceof GitHubForgeError && isPrAlreadyExists({ status: e.status, headers: {}, message: e.githubMessage })) return 'exists';
      throw e;
    }
  }

  async updatePull(repo: ForgeRepoRef, number: number, patch: { title?: string; body?: string; state?: 'open' | 'closed' }): Promise<GhPull> {
    return this.call(
      `update PR #${number} of ${repo.name}`,
      async (o) => (await o.rest.pulls.update({ owner: repo.owner, repo: repo.repo, pull_number: number, ...patch })).data,
    );
  }

  /** Replaces the PR's labels (creating missing ones, as GitHub does); returns their names. */
  async setLabels(repo: ForgeRepoRef, number: number, labels: string[]): Promise<string[]> {
    return this.call(`set labels of PR #${number} of ${repo.name}`, async (o) =>
      (await o.rest.issues.setLabels({ owner: repo.owner, repo: repo.repo, issue_number: number, labels })).data.map((l) => l.name),
    );
  }

  async comment(repo: ForgeRepoRef, number: number, body: string): Promise<void> {
    await this.call(`comment on PR #${number} of ${repo.name}`, (o) =>
      o.rest.issues.createComment({ owner: repo.owner, repo: repo.repo, issue_number: number, body }),
    );
  }

  /**
   * Deletes a branch (`git/refs/heads/<branch>`); false when GitHub has no such reference (422
   * "Reference does not exist": deleted already, by a redelivery or by hand).
   */
  async deleteBranch(repo: ForgeRepoRef, branch: string): Promise<boolean> {
    try {
      await this.call(`delete branch ${branch} of ${repo.name}`, (o) => o.rest.git.deleteRef({ owner: repo.owner, repo: repo.repo, ref: `heads/${branch}` }));
      return true;
    } catch (e) {
      if (e instanceof GitHubForgeError && (e.status === 422 || e.status === 404) && /reference does not exist|not found/i.test(e.githubMessage)) return false;
      throw e;
    }
  }

  /** Draft <-> ready for review: only GitHub's GraphQL API has these mutations. */
  async setDraft(repo: ForgeRepoRef, pull: Pick<GhPull, 'number' | 'node_id'>, draft: boolean): Promise<void> {
    await this.call(`${draft ? 'convert PR #' : 'mark PR #'}${pull.number} of ${repo.name}${draft ? ' to a draft' : ' ready for review'}`, (o) =>
      o.graphql(draft ? DRAFT_MUTATION : READY_MUTATION, { id: pull.node_id }),
    );
  }

  /** Failing and unfinished checks of a commit: commit statuses and check runs both count. */
  async checksOf(repo: ForgeRepoRef, sha: string): Promise<GhChecks> {
    const what = `read the checks of ${sha.slice(0, 12)} in ${repo.name}`;
    const [status, runs] = await Promise.all([
      this.call(what, async (o) => (await o.rest.repos.getCombinedStatusForRef({ owner: repo.owner, repo: repo.repo, ref: sha, per_page: 100 })).data),
      this.call(what, async (o) => (await o.rest.checks.listForRef({ owner: repo.owner, repo: repo.repo, ref: sha, per_page: 100 })).data),
    ]);
    const failing = [
      ...status.statuses.filter((s) => s.state === 'failure' || s.state === 'error').map((s) => s.context),
      ...runs.check_runs.filter((r) => r.status === 'completed' && FAILING_CONCLUSIONS.has(r.conclusion ?? '')).map((r) => r.name),
    ];
    const pending = [
      ...status.statuses.filter((s) => s.state === 'pending').map((s) => s.context),
      ...runs.check_runs.filter((r) => r.status !== 'completed').map((r) => r.name),
    ];
    return { failing, pending };
  }

  /** Merges at exactly `sha` (GitHub refuses with 409 when the head moved since). */
  async merge(repo: ForgeRepoRef, number: number, req: { method: MergeMethod; sha: string; title: string }): Promise<{ sha: string }> {
    return this.call(`merge PR #${number} of ${repo.name}`, async (o) => {
      const { data } = await o.rest.pulls.merge({
        owner: repo.owner,
        repo: repo.repo,
        pull_number: number,
        merge_method: req.method,
        sha: req.sha,
        commit_title: req.title,
      });
      return { sha: data.sha };
    });
  }

  /** The PR's unified diff as GitHub renders it. */
  async pullDiff(repo: ForgeRepoRef, number: number): Promise<string> {
    return this.call(`read the diff of PR #${number} of ${repo.name}`, async (o) => {
      const res = await o.rest.pulls.get({ owner: repo.owner, repo: repo.repo, pull_number: number, mediaType: { format: 'diff' } });
      return String(res.data);
    });
  }
}
