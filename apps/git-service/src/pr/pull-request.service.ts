import { Inject, Injectable } from '@nestjs/common';
import type { OpenPrCommand, PrOpenedEvent, RepoTargetDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { ArtifactStore } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { notFound } from '../forge/forge.errors.js';
import type { CloseOutcome, MergeGuard, MergeMethod, MergeOutcome, PrDiff, PrOrigin, PullRequestRecord } from '../forge/forge.js';
import { ForgeRegistry } from '../forge/forge.registry.js';
import { repoRef, type ForgeRepoRef } from '../forge/repo-ref.js';
import { MirrorService } from '../git/mirror.service.js';
import { RepoLocks } from '../git/repo-locks.js';
import { assertAgentBranch } from './branch-policy.js';
import { prTitle, renderPrBody } from './pr-body.js';

export type { PrOrigin } from '../forge/forge.js';

/** The comment a fix round leaves on the PR, so its conversation shows when and why new commits came. */
export function roundComment(cmd: OpenPrCommand): string {
  const last = cmd.context.reviewRounds.at(-1);
  return [`Agency pushed new commits: the branch is now at \`${cmd.workspace.headSha}\`.`, last ? `Latest review: ${last}` : '', `Tests: ${cmd.context.testSummary || 'not run'}`].filter(Boolean).join('\n\n');
}

export function repoOfTarget(target: RepoTargetDto): ForgeRepoRef {
  return repoRef({ name: target.name, cloneUrl: target.cloneUrl, base: target.base, forge: target.forge });
}

/** Opening, updating, merging and closing PRs, the same for the bus handlers and the HTTP API. */
@Injectable()
export class PullRequestService {
  constructor(
    @Inject(ForgeRegistry) private readonly forges: Pick<ForgeRegistry, 'for'>,
    @Inject(MirrorService) private readonly mirrors: Pick<MirrorService, 'importBundle'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'get'>,
    @Inject(RepoLocks) private readonly locks: Pick<RepoLocks, 'run'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  /**
   * Pushes the workspace's head to its agency branch and opens the PR, or updates the open one.
   * Every part is find-or-create, so a redelivered command changes nothing twice.
   */
  async openOrUpdate(cmd: OpenPrCommand, origin: PrOrigin): Promise<PrOpenedEvent> {
    const repo = repoOfTarget(cmd.repo);
    const { branch, headSha } = cmd.workspace;
    assertAgentBranch(branch, { frId: cmd.fr.id, base: repo.base });
    const forge = this.forges.for(repo.forge);
    const bundle = await this.artifacts.get(cmd.workspace.bundle);
    return this.locks.run(repo.name, async () => {
      await this.mirrors.importBundle(repo, bundle, branch, headSha);
      const { pushed, behind } = await forge.ensureBranchPushed(repo, branch, headSha);
      const content = { title: prTitle(cmd.fr), body: renderPrBody(cmd, origin), draft: cmd.draft, labels: cmd.labels, headSha };
      const existing = await forge.findOpenPr(repo, branch);
      const stale = await this.staleAnswer(repo, branch, headSha, cmd.draft, existing, behind === true);
      if (stale) return stale;
      const pr = existing
        ? await forge.updatePr(repo, existing.number, { ...content, origin })
        : await forge.openPr(repo, { ...content, branch, base: repo.base, ...origin });
      // Only the delivery that pushed comments: a redelivery finds the branch in place and stays quiet.
      if (existing && pushed) await forge.comment(repo, pr.number, roundComment(cmd));
      this.logger.info({ repo: repo.name, number: pr.number, url: pr.url, branch, headSha, pushed, created: !existing }, existing ? 'PR updated' : 'PR opened');
      return { number: pr.number, url: pr.url, branch, headSha, draft: pr.draft, created: !existing };
    });
  }

  /**
   * A command that arrives after newer work must change nothing: an older round's head (the
   * branch is past it), a draft update for a head the PR already shows as ready, or any update
   * after the branch's PR was merged or closed (never a second PR for the branch).
   */
  private async staleAnswer(repo: ForgeRepoRef, branch: string, headSha: string, draft: boolean, existing: PullRequestRecord | undefined, behind: boolean): Promise<PrOpenedEvent | undefined> {
    const answer = (pr: PullRequestRecord, why: string): PrOpenedEvent => {
      this.logger.info({ repo: repo.name, number: pr.number, branch, headSha, prHead: pr.headSha }, `stale open-pr ignored: ${why}`);
      return { number: pr.number, url: pr.url, branch, headSha: pr.headSha, draft: pr.draft, created: false };
    };
    if (existing) {
      if (behind) return answer(existing, 'the branch is already past this head');
      if (draft && !existing.draft && existing.headSha === headSha) return answer(existing, 'the PR is already ready for this head');
      return undefined;
    }
    const finished = (await this.forges.for(repo.forge).list(repo)).filter((p) => p.branch === branch && p.state !== 'open').at(-1);
    return finished ? answer(finished, `the branch's PR is already ${finished.state}`) : undefined;
  }

  async merge(repo: ForgeRepoRef, number: number, method: MergeMethod, guard: MergeGuard): Promise<MergeOutcome> {
    const forge = this.forges.for(repo.forge);
    const outcome = await this.locks.run(repo.name, () => forge.merge(repo, number, method, guard));
    this.logger.info({ repo: repo.name, number, mergeSha: outcome.pr.mergeSha, alreadyMerged: outcome.alreadyMerged }, outcome.alreadyMerged ? 'PR was already merged' : 'PR merged');
    return outcome;
  }

  async close(repo: ForgeRepoRef, number: number): Promise<CloseOutcome> {
    const forge = this.forges.for(repo.forge);
    const outcome = await this.locks.run(repo.name, () => forge.close(repo, number));
    this.logger.info({ repo: repo.name, number, alreadyClosed: outcome.alreadyClosed }, outcome.alreadyClosed ? 'PR was already closed' : 'PR closed');
    return outcome;
  }

  list(repo: ForgeRepoRef): Promise<PullRequestRecord[]> {
    return this.forges.for(repo.forge).list(repo);
  }

  async get(repo: ForgeRepoRef, number: number): Promise<PullRequestRecord> {
    const pr = await this.forges.for(repo.forge).get(repo, number);
    if (!pr) throw notFound('PR_NOT_FOUND', `PR #${number} does not exist in ${repo.name}`);
    return pr;
  }

  /** The record with its changes; the diff reads the mirror, so it waits for the repository's writers. */
  async getWithDiff(repo: ForgeRepoRef, number: number): Promise<PullRequestRecord & { diff: PrDiff }> {
    const forge = this.forges.for(repo.forge);
    return this.locks.run(repo.name, async () => {
      const pr = await this.get(repo, number);
      return { ...pr, diff: await forge.diff(repo, pr) };
    });
  }
}
