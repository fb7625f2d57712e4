import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { EnvironmentWarmup } from '../environment/environment-warmup.service.js';
import { WorkspaceService } from '../git/workspace.service.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { JobAborts } from '../steps/job-aborts.js';
import { JobCancellations } from '../steps/job-cancellations.js';

const RETRY_MS = 5000;

/**
 * With several runner replicas, a cancel's cleanup command reaches one of them, while the job may
 * be running on another. Every replica follows the cancellations in KV and ends what it runs of
 * a cancelled job: its sandbox sessions (commands killed, containers removed) and its worktree.
 */
@Injectable()
export class CancellationFollower implements OnApplicationBootstrap, OnApplicationShutdown {
  private stop?: () => void;
  private retry?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly cancellations: JobCancellations,
    private readonly sandbox: Sandbox,
    private readonly workspaces: WorkspaceService,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    private readonly aborts: JobAborts,
    private readonly warmup: EnvironmentWarmup,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.stop?.();
  }

  private async start(): Promise<void> {
    try {
      this.stop = await this.cancellations.follow(
        (jobId, reason) => void this.endLocally(jobId, reason),
        (err) => this.logger.warn({ err }, 'following job cancellations: an update could not be handled'),
      );
    } catch (err) {
      // NATS not reachable yet: the runner still refuses cancelled steps (checked per step); keep trying.
      this.logger.warn({ err, retryInMs: RETRY_MS }, 'cannot follow job cancellations yet');
      if (!this.closed) this.retry = setTimeout(() => void this.start(), RETRY_MS).unref();
    }
  }

  /** Ends this replica's part of a job another replica cancelled. */
  async endLocally(jobId: string, reason: string): Promise<void> {
    try {
      this.aborts.abort(jobId, reason);
      const ended = await this.sandbox.closeJob(jobId);
      // A warm-up of the job (its setup killed just now) ends before its worktree goes.
      await this.warmup.settle(jobId);
      const removed = await this.workspaces.remove(jobId);
      if (ended > 0 || removed) this.logger.info({ jobId, ended, removed, reason }, 'cancelled by another replica: sandbox sessions ended, worktree removed');
    } catch (err) {
      this.logger.warn({ err, jobId }, 'could not end the local part of a cancelled job');
    }
  }
}
