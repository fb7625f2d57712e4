import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type ClosePrCommand, type DeleteBranchCommand, type Envelope } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, OnMessage } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { PullRequestService } from '../pr/pull-request.service.js';
import { reportStepFailure } from './step-failure.js';

/**
 * The saga's clean-up on the forge when an FR run stops (rejected, cancelled, failed) or a fresh
 * run replaces it: close its PR with the reason, delete its branch. Both are idempotent, so a
 * redelivery changes nothing; the saga does not wait on either.
 */
@Controller()
export class PrCleanupHandler {
  constructor(
    private readonly prs: PullRequestService,
    @Inject(BusPublisher) private readonly bus: Pick<BusPublisher, 'reply'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  @OnMessage(Messages.ClosePr.subject)
  async closePr(@Payload() env: Envelope<ClosePrCommand>): Promise<void> {
    try {
      const { pr, branchDeleted } = await this.prs.closeForFr(env.payload, env.frId);
      await this.bus.reply(env, Messages.PrClosed, { number: pr.number, url: pr.url });
      if (env.payload.deleteBranch) await this.bus.reply(env, Messages.BranchDeleted, { branch: pr.branch, deleted: branchDeleted });
    } catch (e) {
      await reportStepFailure(this.bus, env, e, this.logger);
    }
  }

  @OnMessage(Messages.DeleteBranch.subject)
  async deleteBranch(@Payload() env: Envelope<DeleteBranchCommand>): Promise<void> {
    try {
      const { closed, deleted } = await this.prs.deleteBranch(env.payload, env.frId);
      if (closed) await this.bus.reply(env, Messages.PrClosed, { number: closed.number, url: closed.url });
      if (!env.payload.keepBranch) await this.bus.reply(env, Messages.BranchDeleted, { branch: env.payload.branch, deleted });
    } catch (e) {
      await reportStepFailure(this.bus, env, e, this.logger);
    }
  }
}
