import { dirname, join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Clock } from '@agency/messaging';
import { AgencyConfigCache, CONFIG_FILE, type AgencyConfig } from '@agency/vault';
import { LlmGatewayConfig } from '../llm-gateway.config.js';

/** How often the file's modification time is checked: a stat per call would cost more than the rest of the lookup. */
export const CONFIG_RECHECK_MS = 1_000;

/** The vault's agency.yaml, re-read only when the file changes (same object while unchanged). */
@Injectable()
export class AgencyConfigSource {
  private readonly cache: AgencyConfigCache;
  /** The folder of agency.yaml: relative paths in the llm section resolve from it. */
  readonly configDir: string;
  private last?: { config: AgencyConfig | Error; checkedAt: number };

  constructor(
    config: LlmGatewayConfig,
    private readonly clock: Clock,
  ) {
    this.cache = new AgencyConfigCache(config.VAULT_PATH);
    this.configDir = dirname(join(config.VAULT_PATH, CONFIG_FILE));
  }

  current(): AgencyConfig {
    const now = this.clock.nowMs();
    if (!this.last || now - this.last.checkedAt >= CONFIG_RECHECK_MS) {
      let config: AgencyConfig | Error;
      try {
        config = this.cache.current();
      } catch (e) {
        config = e instanceof Error ? e : new Error(String(e));
      }
      this.last = { config, checkedAt: now };
    }
    if (this.last.config instanceof Error) throw this.last.config;
    return this.last.config;
  }
}
