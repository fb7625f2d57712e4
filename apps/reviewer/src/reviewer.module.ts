import { Module, type DynamicModule } from '@nestjs/common';
import { LlmClient } from '@agency/llm-client';
import { ReviewHandler } from './handlers/review.handler.js';
import { LintCheck } from './lint/lint.check.js';
import { ReviewService } from './review/review.service.js';
import type { ReviewerConfig } from './reviewer.config.js';
import { ReviewerVaultRepository } from './vault/reviewer-vault.repository.js';

@Module({})
export class ReviewerModule {
  static forRoot(config: ReviewerConfig): DynamicModule {
    return {
      module: ReviewerModule,
      controllers: [ReviewHandler],
      providers: [
        ReviewService,
        ReviewerVaultRepository,
        LintCheck,
        {
          provide: LlmClient,
          useValue: new LlmClient({
            baseUrl: config.LLM_GATEWAY_URL,
            apiKey: config.LLM_GATEWAY_API_KEY,
            firstByteTimeoutMs: config.LLM_TIMEOUT_MS,
            idleTimeoutMs: config.LLM_IDLE_TIMEOUT_MS,
          }),
        },
      ],
    };
  }
}
