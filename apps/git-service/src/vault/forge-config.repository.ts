import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgencyConfigCache, cloneUrlOf, localForgeRoot, type AgencyConfig } from '@agency/vault';
import { invalid } from '../forge/forge.errors.js';
import { repoRef, type ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';

export const GITHUB_API_URL = 'https://api.github.com';

/** Where a GitHub repository is cloned from when agency.yaml gives no url: github.com, or the Enterprise host of the API URL. */
export function defaultGithubCloneUrl(apiUrl: string, name: string): string {
  const url = new URL(apiUrl);
  const web = url.hostname === 'api.github.com' ? 'https://github.com' : `${url.protocol}//${url.host}`;
  return `${web}/${name}.git`;
}

/** The forges and repositories of the vault's agency.yaml, re-read when the file changes. */
@Injectable()
export class ForgeConfigRepository {
  private readonly cache: AgencyConfigCache;

  constructor(private readonly config: GitServiceConfig) {
    this.cache = new AgencyConfigCache(config.VAULT_PATH);
  }

  /** GitHub's API base URL: GITHUB_API_URL, else forges.github.api_url, else api.github.com. */
  githubApiUrl(): string {
    return this.config.GITHUB_API_URL ?? this.current().forges?.github?.api_url ?? GITHUB_API_URL;
  }

  /** A repository configured with `forge: github`, by its owner/name; undefined for any other. */
  githubRepo(fullName: string): ForgeRepoRef | undefined {
    const entry = Object.entries(this.current().repos).find(([name, r]) => r.forge === 'github' && name.toLowerCase() === fullName.toLowerCase());
    if (!entry) return undefined;
    const [name, repo] = entry;
    return repoRef({ name, cloneUrl: repo.url ?? defaultGithubCloneUrl(this.githubApiUrl(), name), base: repo.base, forge: 'github' });
  }

  /** Every repository agency.yaml puts on the github forge. */
  githubRepos(): ForgeRepoRef[] {
    return Object.entries(this.current().repos).flatMap(([name, r]) => (r.forge === 'github' ? [this.githubRepo(name)!] : []));
  }

  /** A repository of agency.yaml (either forge) by its owner/name, as the mirror server reads it; undefined for any other. */
  servedRepo(fullName: string): ForgeRepoRef | undefined {
    const github = this.githubRepo(fullName);
    if (github) return github;
    const configured = this.current().repos[fullName];
    if (configured?.forge !== 'local') return undefined;
    const [owner, name] = fullName.split('/');
    return this.localRepo(owner!, name!);
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
