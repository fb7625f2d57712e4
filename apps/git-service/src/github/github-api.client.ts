import { Inject, Injectable } from '@nestjs/common';
import { Octokit, type RestEndpointMethodTypes } from '@octokit/rest';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { conflict, invalid, unavailable } from '../forge/forge.errors.js';
import type { MergeMethod } from '../forge/forge.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { forgeErrorOf, GitHubForgeError, httpFailureOf, isPrAlreadyExists, rateLimitWaitMs, scrubSecret } from './github-errors.js';

export type GhPull = RestEndpointMethodTypes['pulls']['get']['response']['data'];
export type GhPullItem = RestEndpointMethodTypes['pulls']['list']['response']['data'][number];

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
  private cached?: { baseUrl: string; token: string; octokit: Octokit };

  constructor(
    private readonly config: GitServiceConfig,
    @Inject(ForgeConfigRepository) private readonly forgeConfig: Pick<ForgeConfigRepository, 'githubApiUrl'>,
    @Inject(Clock) private readonly clock: Pick<Clock, 'nowMs' | 'sleep'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  private octokit(): Octokit {
    const token = this.config.GITHUB_TOKEN;
    if (!token) throw invalid('GITHUB_TOKEN_MISSING', 'GITHUB_TOKEN is not set: git-service needs a token to work with repositories on the github forge');
    const baseUrl = this.forgeConfig.githubApiUrl().replace(/\/+$/, '');
    if (this.cached?.baseUrl === baseUrl && this.cached.token === token) return this.cached.octokit;
    const timeoutMs = this.config.GITHUB_REQUEST_TIMEOUT_MS;
    const debug = (message: string) => this.logger.debug({ baseUrl }, scrubSecret(message, token));
    const octokit = new Octokit({
      auth: token,
      baseUrl,
      userAgent: 'agency-git-service',
      // Octokit's own log lines (method, path, status) go to debug; failures are reported by this class.
      log: { debug, info: debug, warn: (m: string) => this.logger.warn({ baseUrl }, scrubSecret(m, token)), error: debug },
      request: {
        fetch: (url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs) }),
      },
    });
    this.cached = { baseUrl, token, octokit };
    return octokit;
  }

  /** Runs one API call with the rate-limit policy; `what` names it in errors ("open PR in owner/name"). */
  async call<T>(what: string, fn: (octokit: Octokit) => Promise<T>): Promise<T> {
    const octokit = this.octokit();
    for (let waits = 0; ; waits += 1) {
      try {
        return await fn(octokit);
      } catch (e) {
        const failure = httpFailureOf(e);
        if (!failure) {
          if (e instanceof Error && e.name === 'GraphqlResponseError') throw conflict('GITHUB_GRAPHQL_ERROR', scrubSecret(`${what}: ${e.message}`, this.config.GITHUB_TOKEN));
          throw unavailable('GITHUB_UNREACHABLE', scrubSecret(`${what}: ${(e as Error).message}`, this.config.GITHUB_TOKEN));
        }
        failure.message = scrubSecret(failure.message, this.config.GITHUB_TOKEN);
        const wait = rateLimitWaitMs(failure, this.clock.nowMs());
        if (wait === undefined) throw forgeErrorOf(failure, what);
        if (wait > this.config.GITHUB_RATE_LIMIT_MAX_WAIT_MS || waits >= MAX_RATE_LIMIT_WAITS) {
          throw unavailable('GITHUB_RATE_LIMITED', `${what}: GitHub's rate limit (${failure.status}) resets in ${Math.ceil(wait / 1000)} s; handing the command back for a later delivery`);
        }
        this.logger.warn({ status: failure.status, waitMs: wait, what }, 'GitHub rate limit hit; waiting for it to reset');
        await this.clock.sleep(wait);
      }
    }
  }

  async getPull(repo: ForgeRepoRef, number: number): Promise<GhPull | undefined> {
    try {
      return await this.call(`read PR #${number} of ${repo.name}`, async (o) => (await o.rest.pulls.get({ owner: repo.owner, repo: repo.repo, pull_number: number })).data);
    } catch (e) {
      if (e instanceof GitHubForgeError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Open PRs whose head is `branch` of the repository itself (no forks). */
  async openPullsOf(repo: ForgeRepoRef, branch: string): Promise<GhPullItem[]> {
    return this.call(`find the open PR of ${branch} in ${repo.name}`, async (o) =>
      (await o.rest.pulls.list({ owner: repo.owner, repo: repo.repo, state: 'open', head: `${repo.owner}:${branch}`, per_page: 10 })).data,
    );
  }

  /** PRs of agency branches, newest first (one page: the HTTP API's listing, not a full history). */
  async listPulls(repo: ForgeRepoRef): Promise<GhPullItem[]> {
    return this.call(`list PRs of ${repo.name}`, async (o) => (await o.rest.pulls.list({ owner: repo.owner, repo: repo.repo, state: 'all', per_page: 100 })).data);
  }

  /** Opens a PR; `exists` when GitHub says an open PR of this head already exists (422). */
  async createPull(repo: ForgeRepoRef, pr: { title: string; head: string; base: string; body: string; draft: boolean }): Promise<GhPull | 'exists'> {
    try {
      return await this.call(`open a PR for ${pr.head} in ${repo.name}`, async (o) =>
        (await o.rest.pulls.create({ owner: repo.owner, repo: repo.repo, title: pr.title, head: pr.head, base: pr.base, body: pr.body, draft: pr.draft, maintainer_can_modify: false })).data,
      );
    } catch (e) {
      if (e instanceof GitHubForgeError && isPrAlreadyExists({ status: e.status, headers: {}, message: e.githubMessage })) return 'exists';
      throw e;
    }
  }

  async updatePull(repo: ForgeRepoRef, number: number, patch: { title?: string; body?: string; state?: 'open' | 'closed' }): Promise<GhPull> {
    return this.call(`update PR #${number} of ${repo.name}`, async (o) => (await o.rest.pulls.update({ owner: repo.owner, repo: repo.repo, pull_number: number, ...patch })).data);
  }

  /** Replaces the PR's labels (creating missing ones, as GitHub does); returns their names. */
  async setLabels(repo: ForgeRepoRef, number: number, labels: string[]): Promise<string[]> {
    return this.call(`set labels of PR #${number} of ${repo.name}`, async (o) =>
      (await o.rest.issues.setLabels({ owner: repo.owner, repo: repo.repo, issue_number: number, labels })).data.map((l) => l.name),
    );
  }

  async comment(repo: ForgeRepoRef, number: number, body: string): Promise<void> {
    await this.call(`comment on PR #${number} of ${repo.name}`, (o) => o.rest.issues.createComment({ owner: repo.owner, repo: repo.repo, issue_number: number, body }));
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
    const pending = [...status.statuses.filter((s) => s.state === 'pending').map((s) => s.context), ...runs.check_runs.filter((r) => r.status !== 'completed').map((r) => r.name)];
    return { failing, pending };
  }

  /** Merges at exactly `sha` (GitHub refuses with 409 when the head moved since). */
  async merge(repo: ForgeRepoRef, number: number, req: { method: MergeMethod; sha: string; title: string }): Promise<{ sha: string }> {
    return this.call(`merge PR #${number} of ${repo.name}`, async (o) => {
      const { data } = await o.rest.pulls.merge({ owner: repo.owner, repo: repo.repo, pull_number: number, merge_method: req.method, sha: req.sha, commit_title: req.title });
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
