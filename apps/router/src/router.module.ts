import { Module, type DynamicModule } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { LlmClient } from '@agency/llm-client';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { RepoStatsReader } from './repos/repo-stats.reader.js';
import { SCORE_REFINER } from './scoring/score-refiner.js';
import { ModelScoreRefiner } from './scoring/score-refiner.service.js';
import { ScoreHandler } from './scoring/score.handler.js';
import { ScoringService } from './scoring/scoring.service.js';
import { TierConfigRepository } from './vault/tier-config.repository.js';
import type { RouterConfig } from './router.config.js';

@Module({})
export class RouterModule {
  static forRoot(config: RouterConfig): DynamicModule {
    // The gateway is optional: without it a configured refine_model is skipped (with a reason).
    const llm = config.LLM_GATEWAY_URL
      ? new LlmClient({ baseUrl: config.LLM_GATEWAY_URL, apiKey: config.LLM_GATEWAY_API_KEY!, firstByteTimeoutMs: config.LLM_TIMEOUT_MS })
      : undefined;
    return {
      module: RouterModule,
      controllers: [ScoreHandler],
      providers: [
        ScoringService,
        TierConfigRepository,
        RepoStatsReader,
        { provide: SCORE_REFINER, useFactory: (logger: AgencyPinoLogger) => new ModelScoreRefiner(llm, logger), inject: [SERVICE_LOGGER] },
      ],
    };
  }
}
