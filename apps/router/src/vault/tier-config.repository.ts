import { Injectable } from '@nestjs/common';
import { AgencyConfigCache, loadAgent, type AgencyConfig } from '@agency/vault';
import type { AgentModels } from '../scoring/scoring.service.js';
import { RouterConfig } from '../router.config.js';

/** The vault's agency.yaml (tiers), re-read when the file changes, and the agents' default models. */
@Injectable()
export class TierConfigRepository {
  private readonly cache: AgencyConfigCache;

  constructor(private readonly config: RouterConfig) {
    this.cache = new AgencyConfigCache(config.VAULT_PATH);
  }

  /** Read at each scoring (three small files): an edited agent applies to the next FR. */
  agentModels(): AgentModels {
    const model = (role: 'planner' | 'coder' | 'reviewer') => loadAgent(this.config.VAULT_PATH, role).model;
    return { planner: model('planner'), coder: model('coder'), reviewer: model('reviewer') };
  }

  current(): AgencyConfig {
    return this.cache.current();
  }
}
