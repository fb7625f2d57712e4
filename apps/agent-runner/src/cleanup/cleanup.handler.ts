import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type CleanupCommand, type Envelope } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, OnMessage } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { EnvironmentWarmup } from '../environment/environment-warmup.service.js';
import { WorkspaceService } from '../git/workspace.service.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { JobAborts } from '../steps/job-aborts.js';
import { JobCancellations } from '../steps/job-cancellations.js';
import { jobIdOf } from '../steps/step-ids.js';

/**
 * Removes a job's worktree and local branch; idempotent, so a redelivery just answers removed:
 * false. For a stopped job (`cancel`) it first marks the job cancelled, so no later step of it
 * runs, and ends its running sandbox sessions (commands killed, container removed).
 */
@Controller()
export class CleanupHandler {
  constructor(
    private readonly workspaces: WorkspaceService,
    private readonly sandbox: Sandbox,
    private readonly cancellations: JobCancellations,
    private readonly bus: BusPublisher,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    private readonly aborts: JobAborts,
    private readonly warmup: EnvironmentWarmup,
  ) {}

  @OnMessage(Messages.Cleanup.subject)
  async cleanup(@Payload() env: Envelope<CleanupCommand>): Promise<void> {
    const jobId = jobIdOf(env);
    if (env.payload.cancel) {
      await this.cancellations.cancel(jobId, env.payload.reason);
      // The model call in flight goes first: it is what keeps costing while the rest is torn down.
      const aborted = this.aborts.abort(jobId, env.payload.reason);
      const ended = await this.sandbox.closeJob(jobId);
      if (ended > 0 || aborted) this.logger.info({ jobId, ended, modelCallAborted: aborted }, 'running work of the cancelled job ended');
    }
    // A warm-up still building the environment (the saga ended at planning) finishes or fails first: it works in the worktree.
    await this.warmup.settle(jobId);
    const removed = await this.workspaces.remove(jobId);
    if (!env.payload.cancel) this.aborts.forget(jobId);
    this.logger.info({ jobId, removed, reason: env.payload.reason }, removed ? 'worktree removed' : 'no worktree to remove');
    await this.bus.reply(env, Messages.Cleaned, { removed });
  }
}
