import { Inject, Injectable } from '@nestjs/common';
import type { OpenPrCommand, PrOpenedEvent, RepoTargetDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { ArtifactStore } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { notFound } from '../forge/forge.errors.js';
import type { CloseOutcome, MergeMethod, MergeOutcome, PrDiff, PullRequestRecord } from '../forge/forge.js';
import { ForgeRegistry } from '../forge/forge.registry.js';
import { repoRef, type ForgeRepoRef } from '../forge/repo-ref.js';
import { MirrorService } from '../git/mirror.service.js';
import { RepoLocks } from '../git/repo-locks.js';
import { assertAgentBranch } from './branch-policy.js';
import { prTitle, renderPrBody } from './pr-body.js';

/** The FR run a command belongs to; kept in the PR record for events a human action causes. */
export interface PrOrigin {
  frId: string;
  sagaId: string;
  jobId?: string;
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
      const { pushed } = await forge.ensureBranchPushed(repo, branch, headSha);
      const content = { title: prTitle(cmd.fr), body: renderPrBody(cmd), draft: cmd.draft, labels: cmd.labels, headSha };
      const existing = await forge.findOpenPr(repo, branch);
      const pr = existing
        ? await forge.updatePr(repo, existing.number, content)
        : await forge.openPr(repo, { ...content, branch, base: repo.base, ...origin });
      this.logger.info({ repo: repo.name, number: pr.number, url: pr.url, branch, headSha, pushed, created: !existing }, existing ? 'PR updated' : 'PR opened');
      return { number: pr.number, url: pr.url, branch, headSha, draft: pr.draft, created: !existing };
    });
  }

  async merge(repo: ForgeRepoRef, number: number, method: MergeMethod): Promise<MergeOutcome> {
    const forge = this.forges.for(repo.forge);
    const outcome = await this.locks.run(repo.name, () => forge.merge(repo, number, method));
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
