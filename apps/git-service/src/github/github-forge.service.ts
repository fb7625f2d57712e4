import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@agency/messaging';
import { conflict, invalid, notFound, unavailable } from '../forge/forge.errors.js';
import type {
  CloseOutcome,
  Forge,
  MergeGuard,
  MergeMethod,
  MergeOutcome,
  NewPullRequest,
  PrContent,
  PrDiff,
  PrOrigin,
  PullRequestRecord,
} from '../forge/forge.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';
import { githubAuthMode } from './github-credentials.js';
import { MirrorService } from '../git/mirror.service.js';
import { parseAgencyMarker } from '../pr/pr-body.js';
import { PrOriginStore } from '../pr/pr-origin.store.js';
import { GitHubApiClient, type GhPull } from './github-api.client.js';
import { prStateOf, toPullRecord } from './github-pr.mapper.js';

/** Labels git-service owns on a PR; any other label (a human's) is left alone. */
export function isAgencyLabel(label: string): boolean {
  return label === 'agency' || label.startsWith('agency:') || label.startsWith('tier:');
}

/** The PR's labels after this update: the human ones it has, plus the agency ones wanted now. */
export function nextLabels(current: readonly string[], wanted: readonly string[]): string[] {
  return [...new Set([...current.filter((l) => !isAgencyLabel(l)), ...wanted])];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Repositories on GitHub (`forge: github` in agency.yaml, named owner/name). Branches are pushed
 * by git over HTTPS from git-service's mirror, with the token as a header (TokenGitClient);
 * PRs, labels, comments, merges go through the REST API and draft/ready through GraphQL.
 * Every write looks first, so a redelivered command changes nothing twice.
 */
@Injectable()
export class GitHubForge implements Forge {
  readonly kind = 'github' as const;

  constructor(
    @Inject(GitHubApiClient)
    private readonly api: Pick<
      GitHubApiClient,
      | 'getPull'
      | 'openPullsOf'
      | 'listPulls'
      | 'createPull'
      | 'updatePull'
      | 'setLabels'
      | 'comment'
      | 'setDraft'
      | 'checksOf'
      | 'merge'
      | 'pullDiff'
      | 'deleteBranch'
    >,
    @Inject(MirrorService) private readonly mirrors: Pick<MirrorService, 'pushBranch'>,
    @Inject(PrOriginStore) private readonly origins: Pick<PrOriginStore, 'get' | 'record' | 'markAnnounced'>,
    @Inject(Clock) private readonly clock: Pick<Clock, 'now'>,
    private readonly config: GitServiceConfig,
  ) {}

  private now(): string {
    return this.clock.now().toISOString();
  }

  async ensureBranchPushed(repo: ForgeRepoRef, branch: string, headSha: string): Promise<{ pushed: boolean; behind?: boolean }> {
    if (githubAuthMode(this.config) === 'none')
      throw invalid('GITHUB_TOKEN_MISSING', `neither GITHUB_TOKEN nor GITHUB_APP_ID is set: git-service cannot push ${branch} to ${repo.name} on GitHub`);
    return this.mirrors.pushBranch(repo, repo.cloneUrl, branch, headSha);
  }

  async findOpenPr(repo: ForgeRepoRef, branch: string): Promise<PullRequestRecord | undefined> {
    const pull = (await this.api.openPullsOf(repo, branch)).find((p) => p.head.ref === branch);
    return pull ? toPullRecord(repo, pull, await this.origins.get(repo, pull.number)) : undefined;
  }

  async openPr(repo: ForgeRepoRef, pr: NewPullRequest): Promise<PullRequestRecord> {
    const origin: PrOrigin = { frId: pr.frId, sagaId: pr.sagaId, ...(pr.jobId ? { jobId: pr.jobId } : {}) };
    const created = await this.api.createPull(repo, { title: pr.title, head: pr.branch, base: pr.base, body: pr.body, draft: pr.draft });
    if (created === 'exists') {
      // Opened by an earlier delivery whose answer was lost, or listed late: update that one.
      const existing = await this.findOpenPr(repo, pr.branch);
      if (!existing) throw unavailable('PR_EXISTS_NOT_LISTED', `GitHub says a PR for ${pr.branch} already exists in ${repo.name}, but lists no open one yet`);
      return this.updatePr(repo, existing.number, { ...pr, origin });
    }
    const labels = pr.labels.length ? await this.api.setLabels(repo, created.number, nextLabels([], pr.labels)) : [];
    const saved = await this.origins.record(repo, created.number, origin, pr.branch, { headSha: pr.headSha, at: this.now() });
    return toPullRecord(repo, { ...created, labels }, saved);
  }

  async updatePr(repo: ForgeRepoRef, number: number, content: PrContent): Promise<PullRequestRecord> {
    const pull = await this.api.getPull(repo, number);
    if (!pull) throw notFound('PR_NOT_FOUND', `PR #${number} does not exist in ${repo.name}`);
    const state = prStateOf(pull);
    if (state !== 'open') throw conflict('PR_NOT_OPEN', `PR #${number} of ${repo.name} is ${state}; it cannot be updated`);
    const current =
      pull.title !== content.title || (pull.body ?? '') !== content.body
        ? await this.api.updatePull(repo, number, { title: content.title, body: content.body })
        : pull;
    if ((pull.draft ?? false) !== content.draft) await this.api.setDraft(repo, pull, content.draft);
    const had = pull.labels.map((l) => l.name);
    const wanted = nextLabels(had, content.labels);
    const labels = sameSet(had, wanted) ? had : await this.api.setLabels(repo, number, wanted);
    const origin = content.origin ?? (await this.origins.get(repo, number)) ?? this.originOfBody(pull);
    const saved = origin ? await this.origins.record(repo, number, origin, pull.head.ref, { headSha: content.headSha, at: this.now() }) : undefined;
    return toPullRecord(repo, { ...current, draft: content.draft, labels: labels.map((name) => ({ name })) }, saved);
  }

  private originOfBody(pull: GhPull): PrOrigin | undefined {
    const m = parseAgencyMarker(pull.body);
    return m?.sagaId ? { frId: m.frId, sagaId: m.sagaId, ...(m.jobId ? { jobId: m.jobId } : {}) } : undefined;
  }

  /**
   * Merges with GitHub's merge API at the head git-service saw, after refusing what is unsafe:
   * a closed PR, a draft (review has not passed), failing checks; unfinished checks or a
   * mergeability GitHub has not computed yet hand the command back for a later delivery.
   */
  async merge(repo: ForgeRepoRef, number: number, method: MergeMethod, guard: MergeGuard): Promise<MergeOutcome> {
    const pull = await this.api.getPull(repo, number);
    if (!pull) throw notFound('PR_NOT_FOUND', `PR #${number} does not exist in ${repo.name}`);
    const state = prStateOf(pull);
    if (state === 'merged') return { pr: await this.announced(repo, pull, 'merged'), alreadyMerged: true };
    if (state === 'closed') throw conflict('PR_CLOSED', `PR #${number} of ${repo.name} is closed; reopen it or open a new one to merge`);
    if (pull.draft && !guard.allowDraft) throw conflict('PR_DRAFT', `PR #${number} of ${repo.name} is a draft (review has not passed); refusing to merge it`);
    const checks = await this.api.checksOf(repo, pull.head.sha);
    if (checks.failing.length)
      throw conflict(
        'CHECKS_FAILING',
        `PR #${number} of ${repo.name} has failing checks on ${pull.head.sha.slice(0, 12)}: ${checks.failing.join(', ')}; refusing to merge`,
      );
    if (checks.pending.length)
      throw unavailable('CHECKS_PENDING', `PR #${number} of ${repo.name} still runs checks: ${checks.pending.join(', ')}; merging later`);
    if (pull.mergeable_state === 'dirty' || pull.mergeable === false)
      throw conflict('MERGE_CONFLICT', `PR #${number} (${pull.head.ref}) of ${repo.name} does not merge cleanly into ${pull.base.ref}`);
    try {
      await this.api.merge(repo, number, { method, sha: pull.head.sha, title: `Merge PR #${number}: ${pull.title}` });
    } catch (e) {
      // A merge that went through while its answer was lost is a merge.
      const again = await this.api.getPull(repo, number);
      if (again && prStateOf(again) === 'merged') return { pr: await this.announced(repo, again, 'merged'), alreadyMerged: true };
      throw e;
    }
    const merged = await this.api.getPull(repo, number);
    if (!merged || prStateOf(merged) !== 'merged')
      throw unavailable('MERGE_NOT_VISIBLE', `GitHub accepted the merge of PR #${number} of ${repo.name} but does not show it merged yet`);
    return { pr: await this.announced(repo, merged, 'merged'), alreadyMerged: false };
  }

  async close(repo: ForgeRepoRef, number: number): Promise<CloseOutcome> {
    const pull = await this.api.getPull(repo, number);
    if (!pull) throw notFound('PR_NOT_FOUND', `PR #${number} does not exist in ${repo.name}`);
    const state = prStateOf(pull);
    if (state === 'closed') return { pr: await this.announced(repo, pull, 'closed'), alreadyClosed: true };
    if (state === 'merged') throw conflict('PR_MERGED', `PR #${number} of ${repo.name} is already merged; it cannot be closed`);
    return { pr: await this.announced(repo, await this.api.updatePull(repo, number, { state: 'closed' }), 'closed'), alreadyClosed: false };
  }

  /** The PR's record, once its merge or close is marked as told: git-service's own answer tells the saga, so the poller need not. */
  private async announced(repo: ForgeRepoRef, pull: GhPull, news: 'merged' | 'closed'): Promise<PullRequestRecord> {
    await this.origins.markAnnounced(repo, pull.number, news);
    return this.record(repo, pull);
  }

  async deleteBranch(repo: ForgeRepoRef, branch: string): Promise<boolean> {
    return this.api.deleteBranch(repo, branch);
  }

  async comment(repo: ForgeRepoRef, number: number, body: string): Promise<void> {
    await this.api.comment(repo, number, body);
  }

  async get(repo: ForgeRepoRef, number: number): Promise<PullRequestRecord | undefined> {
    const pull = await this.api.getPull(repo, number);
    return pull ? this.record(repo, pull) : undefined;
  }

  async list(repo: ForgeRepoRef): Promise<PullRequestRecord[]> {
    const pulls = (await this.api.listPulls(repo)).filter((p) => p.head.ref.startsWith('agency/'));
    return Promise.all(pulls.map(async (p) => toPullRecord(repo, p, await this.origins.get(repo, p.number))));
  }

  /** GitHub's own diff of the PR (base branch to head), cut at DIFF_MAX_BYTES. */
  async diff(repo: ForgeRepoRef, pr: PullRequestRecord): Promise<PrDiff> {
    const patch = await this.api.pullDiff(repo, pr.number);
    const bytes = Buffer.from(patch, 'utf8');
    const max = this.config.DIFF_MAX_BYTES;
    return {
      from: pr.base,
      to: pr.mergeSha ?? pr.headSha,
      patch: bytes.byteLength <= max ? patch : bytes.subarray(0, max).toString('utf8'),
      truncated: bytes.byteLength > max,
    };
  }

  private async record(repo: ForgeRepoRef, pull: GhPull): Promise<PullRequestRecord> {
    return toPullRecord(repo, pull, await this.origins.get(repo, pull.number));
  }
}
