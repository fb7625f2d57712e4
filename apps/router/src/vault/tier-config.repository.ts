import { Injectable } from '@nestjs/common';
import { AgencyConfigCache, type AgencyConfig } from '@agency/vault';
import { RouterConfig } from '../router.config.js';

/** The vault's agency.yaml (tiers), re-read when the file changes. */
@Injectable()
export class TierConfigRepository {
  private readonly cache: AgencyConfigCache;

  constructor(config: RouterConfig) {
    this.cache = new AgencyConfigCache(config.VAULT_PATH);
  }

  current(): AgencyConfig {
    return this.cache.current();
  }
}
