import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type ReviewCommand } from '@agency/contracts';
import { BusPublisher, IdempotencyStore, OnMessage } from '@agency/messaging';
import { ReviewService } from '../review/review.service.js';
import type { ReviewOutcome } from '../review/review.report.js';

@Controller()
export class ReviewHandler {
  constructor(
    private readonly reviews: ReviewService,
    private readonly once: IdempotencyStore,
    private readonly bus: BusPublisher,
  ) {}

  @OnMessage(Messages.Review.subject)
  async review(@Payload() env: Envelope<ReviewCommand>): Promise<void> {
    // A redelivered command (say the reply failed) answers from the stored report instead of
    // paying for a second model call; a re-driven step has a new attempt and reviews again.
    const run: { outcome?: ReviewOutcome } = {};
    const { result: report } = await this.once.once(`${env.sagaId}:${env.step}:${env.attempt}`, async () => {
      const done = await this.reviews.review(env);
      run.outcome = done.outcome;
      return done.report;
    });
    const outcome = run.outcome ?? (await this.reviews.outcomeOf(report));
    if (outcome.kind === 'reviewed') await this.bus.reply(env, Messages.Reviewed, outcome.event);
    else await this.bus.reply(env, Messages.ReviewerStepFailed, outcome.failure);
  }
}
