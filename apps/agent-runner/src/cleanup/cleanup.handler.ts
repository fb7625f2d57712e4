import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type CleanupCommand, type Envelope } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, OnMessage } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { WorkspaceService } from '../git/workspace.service.js';
import { jobIdOf } from '../steps/step-ids.js';

/** Removes a job's worktree and local branch; idempotent, so a redelivery just answers removed: false. */
@Controller()
export class CleanupHandler {
  constructor(
    private readonly workspaces: WorkspaceService,
    private readonly bus: BusPublisher,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  @OnMessage(Messages.Cleanup.subject)
  async cleanup(@Payload() env: Envelope<CleanupCommand>): Promise<void> {
    const jobId = jobIdOf(env);
    const removed = await this.workspaces.remove(jobId);
    this.logger.info({ jobId, removed, reason: env.payload.reason }, removed ? 'worktree removed' : 'no worktree to remove');
    await this.bus.reply(env, Messages.Cleaned, { removed });
  }
}
