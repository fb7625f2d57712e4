import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@agency/messaging';
import { GitServiceConfig } from '../git-service.config.js';
import { MirrorService } from '../git/mirror.service.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { ForgeFilesClient } from './forge-files.client.js';
import { conflict, invalid, notFound } from './forge.errors.js';
import type { CloseOutcome, Forge, MergeGuard, MergeMethod, MergeOutcome, NewPullRequest, PrContent, PrDiff, PullRequestRecord } from './forge.js';
import { PrRecordStore } from './pr-record.store.js';
import type { ForgeRepoRef } from './repo-ref.js';

export function localPrUrl(repo: ForgeRepoRef, number: number): string {
  return `local://${repo.owner}/${repo.repo}/pulls/${number}`;
}

/**
 * The offline forge: bare repositories at <root>/<owner>/<name>.git and PR records as JSON at
 * <root>/<owner>/<name>.prs/<n>.json, root being forges.local.root of agency.yaml.
 */
@Injectable()
export class LocalForge implements Forge {
  readonly kind = 'local' as const;

  constructor(
    @Inject(ForgeConfigRepository) private readonly forgeConfig: Pick<ForgeConfigRepository, 'localRoot'>,
    @Inject(MirrorService) private readonly mirrors: Pick<MirrorService, 'pushBranch' | 'merge' | 'diff' | 'deleteBranch'>,
    @Inject(PrRecordStore) private readonly records: Pick<PrRecordStore, 'list' | 'get' | 'create' | 'update'>,
    @Inject(ForgeFilesClient) private readonly files: Pick<ForgeFilesClient, 'exists'>,
    @Inject(Clock) private readonly clock: Pick<Clock, 'now'>,
    private readonly config: GitServiceConfig,
  ) {}

  /** The bare repository, which must exist: the local forge never creates repositories. */
  async remoteUrl(repo: ForgeRepoRef): Promise<string> {
    const path = join(this.forgeConfig.localRoot(), repo.owner, `${repo.repo}.git`);
    if (!(await this.files.exists(join(path, 'HEAD')))) {
      throw notFound('FORGE_REPO_MISSING', `the local forge has no repository ${repo.name} (expected a bare repository at ${path})`);
    }
    return path;
  }

  private recordsDir(repo: ForgeRepoRef): string {
    return join(this.forgeConfig.localRoot(), repo.owner, `${repo.repo}.prs`);
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  async ensureBranchPushed(repo: ForgeRepoRef, branch: string, headSha: string): Promise<{ pushed: boolean; behind?: boolean }> {
    return this.mirrors.pushBranch(repo, await this.remoteUrl(repo), branch, headSha);
  }

  async findOpenPr(repo: ForgeRepoRef, branch: string): Promise<PullRequestRecord | undefined> {
    const open = (await this.records.list(this.recordsDir(repo))).filter((r) => r.state === 'open' && r.branch === branch);
    return open.at(-1);
  }

  async openPr(repo: ForgeRepoRef, pr: NewPullRequest): Promise<PullRequestRecord> {
    await this.remoteUrl(repo);
    const at = this.now();
    return this.records.create(this.recordsDir(repo), (number) => ({
      number,
      url: localPrUrl(repo, number),
      repo: repo.name,
      title: pr.title,
      body: pr.body,
      branch: pr.branch,
      base: pr.base,
      headSha: pr.headSha,
      state: 'open',
      draft: pr.draft,
      labels: [...pr.labels],
      createdAt: at,
      updatedAt: at,
      mergedAt: null,
      mergeSha: null,
      closedAt: null,
      pushes: [{ headSha: pr.headSha, at }],
      frId: pr.frId,
      sagaId: pr.sagaId,
      jobId: pr.jobId ?? null,
    }));
  }

  async updatePr(repo: ForgeRepoRef, number: number, content: PrContent): Promise<PullRequestRecord> {
    const at = this.now();
    return this.records.update(this.recordsDir(repo), number, (current) => {
      if (current.state !== 'open') throw conflict('PR_NOT_OPEN', `PR #${number} of ${repo.name} is ${current.state}; it cannot be updated`);
      // A push is recorded when the head moves; the same head again (a redelivery) is no push.
      const moved = current.headSha !== content.headSha;
      return {
        ...current,
        title: content.title,
        body: content.body,
        draft: content.draft,
        labels: [...content.labels],
        headSha: content.headSha,
        updatedAt: at,
        pushes: moved ? [...current.pushes, { headSha: content.headSha, at }] : current.pushes,
        ...(content.origin ? { frId: content.origin.frId, sagaId: content.origin.sagaId, jobId: content.origin.jobId ?? null } : {}),
      };
    });
  }

  async merge(repo: ForgeRepoRef, number: number, method: MergeMethod, guard: MergeGuard): Promise<MergeOutcome> {
    const dir = this.recordsDir(repo);
    const pr = await this.get(repo, number);
    if (!pr) throw notFound('PR_NOT_FOUND', `PR #${number} does not exist in ${repo.name}`);
    if (pr.state === 'merged') return { pr, alreadyMerged: true };
    if (pr.state === 'closed') throw conflict('PR_CLOSED', `PR #${number} of ${repo.name} is closed; reopen it or open a new one to merge`);
    if (pr.draft && !guard.allowDraft)
      throw conflict('PR_DRAFT', `PR #${number} of ${repo.name} is a draft (review has not passed); refusing to merge it automatically`);
    if (method !== 'merge') throw invalid('MERGE_METHOD_UNSUPPORTED', `the local forge merges with a merge commit only; "${method}" is not supported`);
    const { mergeSha } = await this.mirrors.merge(repo, await this.remoteUrl(repo), {
      number,
      base: pr.base,
      branch: pr.branch,
      headSha: pr.headSha,
      message: `Merge PR #${number}: ${pr.title}`,
    });
    const at = this.now();
    const merged = await this.records.update(dir, number, (current) => ({ ...current, state: 'merged', mergeSha, mergedAt: at, updatedAt: at }));
    return { pr: merged, alreadyMerged: false };
  }

  async close(repo: ForgeRepoRef, number: number): Promise<CloseOutcome> {
    const pr = await this.get(repo, number);
    if (!pr) throw notFound('PR_NOT_FOUND', `PR #${number} does not exist in ${repo.name}`);
    if (pr.state === 'closed') return { pr, alreadyClosed: true };
    if (pr.state === 'merged') throw conflict('PR_MERGED', `PR #${number} of ${repo.name} is already merged; it cannot be closed`);
    const at = this.now();
    const closed = await this.records.update(this.recordsDir(repo), number, (current) => ({ ...current, state: 'closed', closedAt: at, updatedAt: at }));
    return { pr: closed, alreadyClosed: false };
  }

  async deleteBranch(repo: ForgeRepoRef, branch: string): Promise<boolean> {
    return this.mirrors.deleteBranch(repo, await this.remoteUrl(repo), branch);
  }

  async comment(repo: ForgeRepoRef, number: number, body: string): Promise<void> {
    const at = this.now();
    await this.records.update(this.recordsDir(repo), number, (current) => ({ ...current, comments: [...(current.comments ?? []), { body, at }] }));
  }

  async get(repo: ForgeRepoRef, number: number): Promise<PullRequestRecord | undefined> {
    await this.remoteUrl(repo);
    return this.records.get(this.recordsDir(repo), number);
  }

  async list(repo: ForgeRepoRef): Promise<PullRequestRecord[]> {
    await this.remoteUrl(repo);
    return this.records.list(this.recordsDir(repo));
  }

  async diff(repo: ForgeRepoRef, pr: PullRequestRecord): Promise<PrDiff> {
    return this.mirrors.diff(repo, await this.remoteUrl(repo), {
      base: pr.base,
      branch: pr.branch,
      headSha: pr.headSha,
      mergeSha: pr.mergeSha,
      maxBytes: this.config.DIFF_MAX_BYTES,
    });
  }
}
