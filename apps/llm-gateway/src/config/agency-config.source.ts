import { dirname, join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgencyConfigCache, CONFIG_FILE, type AgencyConfig } from '@agency/vault';
import { LlmGatewayConfig } from '../llm-gateway.config.js';

/** The vault's agency.yaml, re-read only when the file changes (same object while unchanged). */
@Injectable()
export class AgencyConfigSource {
  private readonly cache: AgencyConfigCache;
  /** The folder of agency.yaml: relative paths in the llm section resolve from it. */
  readonly configDir: string;

  constructor(config: LlmGatewayConfig) {
    this.cache = new AgencyConfigCache(config.VAULT_PATH);
    this.configDir = dirname(join(config.VAULT_PATH, CONFIG_FILE));
  }

  current(): AgencyConfig {
    return this.cache.current();
  }
}
