import { Module, type DynamicModule } from '@nestjs/common';
import { RepoStatsReader } from './repos/repo-stats.reader.js';
import { ScoreHandler } from './scoring/score.handler.js';
import { ScoringService } from './scoring/scoring.service.js';
import { TierConfigRepository } from './vault/tier-config.repository.js';
import type { RouterConfig } from './router.config.js';

@Module({})
export class RouterModule {
  static forRoot(_config: RouterConfig): DynamicModule {
    return { module: RouterModule, controllers: [ScoreHandler], providers: [ScoringService, TierConfigRepository, RepoStatsReader] };
  }
}
