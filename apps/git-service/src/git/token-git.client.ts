import { Injectable, Optional } from '@nestjs/common';
import { HeaderGit, httpScopeOf, tracedGit, type GitRunner } from '@agency/git';
import { invalid } from '../forge/forge.errors.js';
import { GitServiceConfig } from '../git-service.config.js';
import { GitHubCredentials } from '../github/github-credentials.js';
import { GitClient } from './git.client.js';

export type { GitRunner } from '@agency/git';

/** `Authorization: Basic base64(x-access-token:<token>)`, the form GitHub's git endpoint takes for every token kind. */
export function basicAuthHeader(token: string): string {
  return `Authorization: Basic ${Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64')}`;
}

/** The URL prefix git's `http.<url>.extraHeader` is scoped to: the remote's scheme, host and port only. */
export function headerScope(remoteUrl: string): string {
  const scope = httpScopeOf(remoteUrl);
  if (scope) return scope;
  if (!URL.canParse(remoteUrl))
    throw invalid('CLONE_URL_NOT_HTTP', `remote URL "${remoteUrl}" is not an absolute http(s) URL; a GitHub repository is pushed to over HTTPS`);
  throw invalid('CLONE_URL_NOT_HTTP', `remote URL "${remoteUrl}" is not http(s); a token is only ever sent over HTTP(S)`);
}

/**
 * Host git with a forge token for one remote. The token reaches git as an Authorization header
 * through git's environment configuration, scoped to the remote's host (HeaderGit): never as an
 * argument, never in a URL, never in a file; any output that could echo it is scrubbed. The token
 * is asked for when a command runs (a GitHub App's installation token is refreshed meanwhile).
 */
@Injectable()
export class TokenGitClient {
  private readonly credentials: GitHubCredentials;

  constructor(
    private readonly config: GitServiceConfig,
    private readonly git: GitClient,
    @Optional() credentials?: GitHubCredentials,
  ) {
    this.credentials = credentials ?? new GitHubCredentials(config);
  }

  /** A runner whose commands authenticate to `remoteUrl`'s host; without a credential, the plain safe runner. */
  forRemote(remoteUrl: string, token?: string): GitRunner {
    if (token === undefined && this.credentials.mode === 'none') return tracedGit(this.git, remoteUrl);
    const scope = headerScope(remoteUrl);
    const runner = async () => {
      const current = token ?? (await this.credentials.token());
      const header = basicAuthHeader(current);
      return new HeaderGit(scope, header, [current, header.slice('Authorization: Basic '.length)], this.config.GIT_TIMEOUT_MS);
    };
    return tracedGit(
      {
        run: async (dir, args) => (await runner()).run(dir, args),
        attempt: async (dir, args) => (await runner()).attempt(dir, args),
      },
      remoteUrl,
    );
  }
}
