import { Injectable } from '@nestjs/common';
import type { RepoTargetDto } from '@agency/contracts';
import { HeaderGit, httpScopeOf, tracedGit, type GitRunner } from '@agency/git';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { GitClient } from './git.client.js';

/** Where a mirror's objects come from and the git that talks to it. */
export interface MirrorOrigin {
  url: string;
  git: GitRunner;
}

/**
 * Where the runner's mirror of a repository fetches from. A GitHub repository comes through
 * git-service's read-only git server (GIT_MIRROR_URL) when one is configured, authenticated with
 * the service credential as a header scoped to that host (HeaderGit: never an argument, a URL or
 * a file, so no sandbox that later reads the mirror or the process list sees it). git-service
 * fetches from GitHub with its token, which never leaves it. Any other repository, or GitHub
 * without GIT_MIRROR_URL (public repositories), is fetched from its clone URL as before.
 */
@Injectable()
export class MirrorSource {
  private readonly viaGitService?: { base: string; git: GitRunner };

  constructor(
    config: AgentRunnerConfig,
    private readonly git: GitClient,
  ) {
    const base = config.GIT_MIRROR_URL?.replace(/\/$/, '');
    const token = config.GIT_MIRROR_TOKEN;
    const scope = base ? httpScopeOf(base) : undefined;
    if (base && token && scope)
      this.viaGitService = { base, git: new HeaderGit(scope, `Authorization: Bearer ${token}`, [token], config.GIT_TIMEOUT_SECONDS * 1000) };
  }

  of(repo: RepoTargetDto): MirrorOrigin {
    if (repo.forge === 'github' && this.viaGitService) {
      const url = `${this.viaGitService.base}/${repo.name}.git`;
      return { url, git: tracedGit(this.viaGitService.git, url) };
    }
    return { url: repo.cloneUrl, git: tracedGit(this.git, repo.cloneUrl) };
  }
}
