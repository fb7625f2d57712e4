import { Inject, Injectable } from '@nestjs/common';
import type { ClosePrCommand, DeleteBranchCommand, OpenPrCommand, PrOpenedEvent, RepoTargetDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { ArtifactStore } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { conflict, invalid, notFound } from '../forge/forge.errors.js';
import type { CloseOutcome, Forge, MergeGuard, MergeMethod, MergeOutcome, PrDiff, PrOrigin, PullRequestRecord } from '../forge/forge.js';
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
  return [
    `Agency pushed new commits: the branch is now at \`${cmd.workspace.headSha}\`.`,
    last ? `Latest review: ${last}` : '',
    `Tests: ${cmd.context.testSummary || 'not run'}`,
  ]
    .filter(Boolean)
    .join('\n\n');
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
      const before = await forge.findOpenPr(repo, branch);
      // This run's PR was closed or merged: nothing is pushed (a branch the saga deleted stays deleted).
      const ended = before ? undefined : await this.endedPrOf(repo, branch, origin);
      if (ended) return this.staleAnswer(repo, branch, headSha, ended, `this job's PR of the branch is already ${ended.state}`);
      const { pushed, behind } = await forge.ensureBranchPushed(repo, branch, headSha);
      const content = { title: prTitle(cmd.fr), body: renderPrBody(cmd, origin), draft: cmd.draft, labels: cmd.labels, headSha };
      const existing = before ?? (await forge.findOpenPr(repo, branch));
      if (existing && behind) return this.staleAnswer(repo, branch, headSha, existing, 'the branch is already past this head');
      if (existing && cmd.draft && !existing.draft && existing.headSha === headSha)
        return this.staleAnswer(repo, branch, headSha, existing, 'the PR is already ready for this head');
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
   * after this job's PR of the branch was merged or closed (never a second PR for one job).
   */
  private staleAnswer(repo: ForgeRepoRef, branch: string, headSha: string, pr: PullRequestRecord, why: string): PrOpenedEvent {
    this.logger.info({ repo: repo.name, number: pr.number, branch, headSha, prHead: pr.headSha }, `stale open-pr ignored: ${why}`);
    return { number: pr.number, url: pr.url, branch, headSha: pr.headSha, draft: pr.draft, created: false };
  }

  /**
   * The branch's PR that this job already ended (closed or merged). An earlier job's or an
   * earlier run's closed PR does not count: a retry after a cancel, or a fresh run, opens a PR of its own.
   */
  private async endedPrOf(repo: ForgeRepoRef, branch: string, origin: PrOrigin): Promise<PullRequestRecord | undefined> {
    const ended = (await this.forges.for(repo.forge).list(repo)).filter((p) => p.branch === branch && p.state !== 'open' && p.sagaId === origin.sagaId);
    return ended.filter((p) => p.state === 'merged' || (p.jobId ?? undefined) === origin.jobId).at(-1);
  }

  /**
   * The saga ends an FR run's PR: a comment saying why, then closed, and its branch deleted when
   * asked. Closing a closed PR is a no-op (a redelivery), a merged one is a conflict, and a PR of
   * another FR is never touched.
   */
  async closeForFr(cmd: ClosePrCommand, frId: string): Promise<{ pr: PullRequestRecord; closed: boolean; branchDeleted: boolean }> {
    const repo = repoOfTarget(cmd.repo);
    const forge = this.forges.for(repo.forge);
    return this.locks.run(repo.name, async () => {
      const pr = await forge.get(repo, cmd.number);
      if (!pr) throw notFound('PR_NOT_FOUND', `PR #${cmd.number} does not exist in ${repo.name}`);
      if (pr.frId && pr.frId !== frId)
        throw invalid('PR_OF_ANOTHER_FR', `PR #${cmd.number} of ${repo.name} belongs to ${pr.frId}, not ${frId}; refusing to close it`);
      if (pr.state === 'merged') throw conflict('PR_MERGED', `PR #${cmd.number} of ${repo.name} is already merged; it cannot be closed`);
      const open = pr.state === 'open';
      if (open) {
        await forge.comment(repo, pr.number, `Agency closed this PR: ${cmd.reason}`);
        await forge.close(repo, pr.number);
      }
      const branchDeleted = cmd.deleteBranch ? await this.deleteAgencyBranch(forge, repo, pr.branch, frId) : false;
      this.logger.info(
        { repo: repo.name, number: pr.number, branch: pr.branch, closed: open, branchDeleted, reason: cmd.reason },
        open ? 'PR closed for the saga' : 'PR was already closed',
      );
      return { pr: { ...pr, state: 'closed' }, closed: open, branchDeleted };
    });
  }

  /**
   * Ends an agency branch of the FR: its open PR (of this FR) is closed with the reason, then the
   * branch is deleted unless kept. Never the base, never another FR's branch or PR.
   */
  async deleteBranch(cmd: DeleteBranchCommand, frId: string): Promise<{ closed?: PullRequestRecord; deleted: boolean }> {
    const repo = repoOfTarget(cmd.repo);
    const forge = this.forges.for(repo.forge);
    assertAgentBranch(cmd.branch, { frId, base: repo.base });
    return this.locks.run(repo.name, async () => {
      const open = await forge.findOpenPr(repo, cmd.branch);
      let closed: PullRequestRecord | undefined;
      if (open && (!open.frId || open.frId === frId)) {
        await forge.comment(repo, open.number, `Agency closed this PR: ${cmd.reason ?? 'its branch was ended'}`);
        closed = (await forge.close(repo, open.number)).pr;
      }
      const deleted = cmd.keepBranch ? false : await this.deleteAgencyBranch(forge, repo, cmd.branch, frId);
      return { ...(closed ? { closed } : {}), deleted };
    });
  }

  private async deleteAgencyBranch(forge: Forge, repo: ForgeRepoRef, branch: string, frId: string): Promise<boolean> {
    assertAgentBranch(branch, { frId, base: repo.base });
    const deleted = await forge.deleteBranch(repo, branch);
    this.logger.info({ repo: repo.name, branch, deleted }, deleted ? 'branch deleted' : 'branch was not on the forge');
    return deleted;
  }

  async merge(repo: ForgeRepoRef, number: number, method: MergeMethod, guard: MergeGuard): Promise<MergeOutcome> {
    const forge = this.forges.for(repo.forge);
    const outcome = await this.locks.run(repo.name, () => forge.merge(repo, number, method, guard));
    this.logger.info(
      { repo: repo.name, number, mergeSha: outcome.pr.mergeSha, alreadyMerged: outcome.alreadyMerged },
      outcome.alreadyMerged ? 'PR was already merged' : 'PR merged',
    );
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
