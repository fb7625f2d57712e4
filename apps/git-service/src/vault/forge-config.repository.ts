import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgencyConfigCache, cloneUrlOf, localForgeRoot, type AgencyConfig } from '@agency/vault';
import { invalid } from '../forge/forge.errors.js';
import { repoRef, type ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';

/** The forges and repositories of the vault's agency.yaml, re-read when the file changes. */
@Injectable()
export class ForgeConfigRepository {
  private readonly cache: AgencyConfigCache;

  constructor(config: GitServiceConfig) {
    this.cache = new AgencyConfigCache(config.VAULT_PATH);
  }

  current(): AgencyConfig {
    return this.cache.current();
  }

  /** Absolute folder of the local forge (forges.local.root). */
  localRoot(): string {
    const root = localForgeRoot(this.current(), this.cache.vaultRoot);
    if (!root) throw invalid('LOCAL_FORGE_NOT_CONFIGURED', `${join(this.cache.vaultRoot, '40_config/agency.yaml')} has no forges.local.root`);
    return root;
  }

  /**
   * A repository of the local forge named in an HTTP path. Configured repositories use their
   * clone URL; any other owner/name is read straight from the forge folder.
   */
  localRepo(owner: string, name: string): ForgeRepoRef {
    const full = `${owner}/${name}`;
    const config = this.current();
    const configured = config.repos[full];
    if (configured && configured.forge !== 'local') throw invalid('NOT_A_LOCAL_REPO', `${full} is on the ${configured.forge} forge, not the local one`);
    const cloneUrl = configured ? cloneUrlOf(config, this.cache.vaultRoot, full) : join(this.localRoot(), `${full}.git`);
    return repoRef({ name: full, cloneUrl, base: configured?.base ?? 'main', forge: 'local' });
  }
}
