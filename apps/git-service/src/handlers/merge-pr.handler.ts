import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type MergePrCommand, type PrMergedEvent } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, IdempotencyStore, OnMessage } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { PullRequestService, repoOfTarget } from '../pr/pull-request.service.js';
import { reportStepFailure } from './step-failure.js';

@Controller()
export class MergePrHandler {
  constructor(
    private readonly prs: PullRequestService,
    @Inject(BusPublisher) private readonly bus: Pick<BusPublisher, 'reply'>,
    @Inject(IdempotencyStore) private readonly once: Pick<IdempotencyStore, 'once'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  /**
   * Merge the PR; one already merged is announced again rather than refused. The saga decides
   * when to merge (approval policy, tier, confidence); this refuses what is unsafe whatever it
   * decided: a draft, a closed PR, failing checks.
   */
  @OnMessage(Messages.MergePr.subject)
  async merge(@Payload() env: Envelope<MergePrCommand>): Promise<void> {
    let merged: PrMergedEvent;
    try {
      const { number, method } = env.payload;
      ({ result: merged } = await this.once.once(`merge:${env.sagaId}:${env.step}:${env.attempt}`, async () => {
        const { pr } = await this.prs.merge(repoOfTarget(env.payload.repo), number, method, { allowDraft: false });
        if (!pr.mergeSha) throw new Error(`PR #${pr.number} is recorded as merged without a merge sha`);
        return { number: pr.number, url: pr.url, mergeSha: pr.mergeSha };
      }));
    } catch (e) {
      return reportStepFailure(this.bus, env, e, this.logger);
    }
    await this.bus.reply(env, Messages.PrMerged, merged);
  }
}
