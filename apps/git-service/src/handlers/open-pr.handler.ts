import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type OpenPrCommand, type PrOpenedEvent } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, IdempotencyStore, OnMessage } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { PullRequestService } from '../pr/pull-request.service.js';
import { reportStepFailure } from './step-failure.js';

@Controller()
export class OpenPrHandler {
  constructor(
    private readonly prs: PullRequestService,
    @Inject(BusPublisher) private readonly bus: Pick<BusPublisher, 'reply'>,
    @Inject(IdempotencyStore) private readonly once: Pick<IdempotencyStore, 'once'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  /** Push and open (or update) the PR; a redelivery answers from the recorded result. */
  @OnMessage(Messages.OpenPr.subject)
  async openPr(@Payload() env: Envelope<OpenPrCommand>): Promise<void> {
    let opened: PrOpenedEvent;
    try {
      const origin = { frId: env.frId, sagaId: env.sagaId, ...(env.jobId ? { jobId: env.jobId } : {}) };
      ({ result: opened } = await this.once.once(`open-pr:${env.sagaId}:${env.step}:${env.attempt}`, () => this.prs.openOrUpdate(env.payload, origin)));
    } catch (e) {
      return reportStepFailure(this.bus, env, e, this.logger);
    }
    await this.bus.reply(env, Messages.PrOpened, opened);
  }
}
