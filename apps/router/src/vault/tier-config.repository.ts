import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { CONFIG_FILE, loadAgencyConfig, type AgencyConfig } from '@agency/vault';
import { RouterConfig } from '../router.config.js';

/** The vault's agency.yaml, re-read when the file changes so tier edits apply without a restart. */
@Injectable()
export class TierConfigRepository {
  private cached?: { mtimeMs: number; config: AgencyConfig };

  constructor(private readonly config: RouterConfig) {}

  current(): AgencyConfig {
    const mtimeMs = statSync(join(this.config.VAULT_PATH, CONFIG_FILE)).mtimeMs;
    if (!this.cached || this.cached.mtimeMs !== mtimeMs) this.cached = { mtimeMs, config: loadAgencyConfig(this.config.VAULT_PATH) };
    return this.cached.config;
  }
}
