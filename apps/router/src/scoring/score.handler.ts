import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type ScoreFrCommand } from '@agency/contracts';
import { BusPublisher, OnMessage } from '@agency/messaging';
import { ScoringService } from './scoring.service.js';

@Controller()
export class ScoreHandler {
  constructor(
    private readonly scoring: ScoringService,
    private readonly bus: BusPublisher,
  ) {}

  @OnMessage(Messages.ScoreFr.subject)
  async score(@Payload() env: Envelope<ScoreFrCommand>): Promise<void> {
    const result = this.scoring.score(env.payload.fr, env.payload.repoStats, env.payload.forcedTier);
    await this.bus.reply(env, Messages.FrScored, result);
  }
}
