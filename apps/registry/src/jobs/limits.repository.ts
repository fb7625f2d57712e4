import { Injectable } from '@nestjs/common';
import { AgencyConfigCache } from '@agency/vault';
import { RegistryConfig } from '../registry.config.js';
import type { Limits } from './queue-policy.js';

/** Concurrency limits from the vault's agency.yaml, re-read when it changes. */
@Injectable()
export class LimitsRepository {
  private readonly cache: AgencyConfigCache;

  constructor(config: RegistryConfig) {
    this.cache = new AgencyConfigCache(config.VAULT_PATH);
  }

  current(): Limits {
    const c = this.cache.current().concurrency;
    return { global: c.global, perRepo: c.per_repo };
  }
}
