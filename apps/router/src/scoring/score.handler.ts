import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type ScoreFrCommand } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, OnMessage } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { RepoStatsReader } from '../repos/repo-stats.reader.js';
import { ScoringService, type RepoSize } from './scoring.service.js';

@Controller()
export class ScoreHandler {
  constructor(
    private readonly scoring: ScoringService,
    @Inject(BusPublisher) private readonly bus: Pick<BusPublisher, 'reply'>,
    @Inject(RepoStatsReader) private readonly repoStats: Pick<RepoStatsReader, 'get'>,
    @Inject(SERVICE_LOGGER) private readonly logger: Pick<AgencyPinoLogger, 'warn'>,
  ) {}

  @OnMessage(Messages.ScoreFr.subject)
  async score(@Payload() env: Envelope<ScoreFrCommand>): Promise<void> {
    const { fr, forcedTier } = env.payload;
    // Stats in the command win; otherwise what the runner recorded at the repository's last plan.
    const repoStats = env.payload.repoStats ?? (await this.recordedStats(fr.repo));
    // The FR, saga and step of the command: a model refinement's cost is accounted to the FR.
    const ctx = { frId: env.frId, sagaId: env.sagaId, step: env.step, ...(env.jobId ? { jobId: env.jobId } : {}) };
    const result = await this.scoring.score(fr, repoStats, forcedTier, ctx);
    await this.bus.reply(env, Messages.FrScored, result);
  }

  /** Repository size is one capped feature (15 points at most): a failed read scores without it rather than holding the FR. */
  private async recordedStats(repo: string): Promise<RepoSize | undefined> {
    try {
      return await this.repoStats.get(repo);
    } catch (err) {
      this.logger.warn({ err, repo }, 'repository stats not read; scoring without repo_size');
      return undefined;
    }
  }
}
