import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { invalid, unavailable } from '../forge/forge.errors.js';
import { GitServiceConfig } from '../git-service.config.js';
import { GITHUB_API_URL, ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { appJwt, appPrivateKey } from './github-app-jwt.js';
import { httpFailureOf, scrubSecret } from './github-errors.js';

export type GitHubAuthMode = 'app' | 'token' | 'none';

/** An installation token is replaced this long before GitHub lets it expire (they last an hour). */
export const INSTALLATION_TOKEN_REFRESH_MS = 10 * 60_000;

interface InstallationToken {
  token: string;
  expiresAtMs: number;
}

/** How git-service authenticates to GitHub, from its configuration: an app when GITHUB_APP_ID is set, else the token. */
export function githubAuthMode(config: Pick<GitServiceConfig, 'GITHUB_APP_ID' | 'GITHUB_TOKEN'>): GitHubAuthMode {
  if (config.GITHUB_APP_ID) return 'app';
  return config.GITHUB_TOKEN ? 'token' : 'none';
}

/**
 * The credential for GitHub's API and git: a personal or fine-grained token (GITHUB_TOKEN), or a
 * GitHub App's installation token (GITHUB_APP_ID, its private key, GITHUB_APP_INSTALLATION_ID):
 * asked for with a JWT signed by the app's key, kept in memory only, and replaced
 * INSTALLATION_TOKEN_REFRESH_MS before it expires (or at once after GitHub refused it), one
 * request at a time however many callers wait. Every token ever handed out is remembered for
 * scrubbing error messages.
 */
@Injectable()
export class GitHubCredentials {
  readonly mode: GitHubAuthMode;
  private key?: KeyObject;
  private current?: InstallationToken;
  private refreshing?: Promise<InstallationToken>;
  private readonly issued = new Set<string>();

  constructor(
    private readonly config: GitServiceConfig,
    @Optional() @Inject(ForgeConfigRepository) private readonly forgeConfig?: Pick<ForgeConfigRepository, 'githubApiUrl'>,
    @Optional() @Inject(SERVICE_LOGGER) private readonly logger?: AgencyPinoLogger,
    @Optional() @Inject(Clock) private readonly clock: Pick<Clock, 'nowMs'> = { nowMs: () => Date.now() },
  ) {
    this.mode = githubAuthMode(config);
  }

  /** The token to send now; throws GITHUB_TOKEN_MISSING when neither a token nor an app is configured. */
  async token(): Promise<string> {
    if (this.mode === 'token') return this.config.GITHUB_TOKEN!;
    if (this.mode === 'none')
      throw invalid(
        'GITHUB_TOKEN_MISSING',
        'neither GITHUB_TOKEN nor GITHUB_APP_ID is set: git-service needs a credential to work with repositories on the github forge',
      );
    const current = this.current;
    if (current && current.expiresAtMs - this.clock.nowMs() > INSTALLATION_TOKEN_REFRESH_MS) return current.token;
    this.refreshing ??= this.fetchInstallationToken().finally(() => (this.refreshing = undefined));
    return (await this.refreshing).token;
  }

  /** GitHub refused `token` (401): the next call asks for a new installation token. */
  refused(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  /** Every secret to scrub from text: the token, the app's installation tokens so far. */
  secrets(): string[] {
    return [...(this.config.GITHUB_TOKEN ? [this.config.GITHUB_TOKEN] : []), ...this.issued];
  }

  scrub(text: string): string {
    return this.secrets().reduce((t, s) => scrubSecret(t, s), text);
  }

  private privateKey(): KeyObject {
    if (this.key) return this.key;
    const pem =
      this.config.GITHUB_APP_PRIVATE_KEY ??
      (this.config.GITHUB_APP_PRIVATE_KEY_FILE ? readFileSync(this.config.GITHUB_APP_PRIVATE_KEY_FILE, 'utf8') : undefined);
    if (!pem) throw invalid('GITHUB_APP_KEY_MISSING', 'GITHUB_APP_ID is set but neither GITHUB_APP_PRIVATE_KEY nor GITHUB_APP_PRIVATE_KEY_FILE is');
    try {
      this.key = appPrivateKey(pem);
    } catch (e) {
      throw invalid('GITHUB_APP_KEY_INVALID', `the GitHub App's private key cannot be read: ${(e as Error).message.split('\n')[0]}`);
    }
    return this.key;
  }

  /** POST /app/installations/{id}/access_tokens, authenticated as the app (Octokit sends a JWT as a bearer token). */
  private async fetchInstallationToken(): Promise<InstallationToken> {
    const installationId = Number(this.config.GITHUB_APP_INSTALLATION_ID);
    if (!installationId) throw invalid('GITHUB_APP_INSTALLATION_MISSING', 'GITHUB_APP_ID is set but GITHUB_APP_INSTALLATION_ID is not');
    const baseUrl = (this.forgeConfig?.githubApiUrl() ?? this.config.GITHUB_API_URL ?? GITHUB_API_URL).replace(/\/+$/, '');
    const timeoutMs = this.config.GITHUB_REQUEST_TIMEOUT_MS;
    const jwt = appJwt(this.config.GITHUB_APP_ID!, this.privateKey(), this.clock.nowMs());
    const quiet = () => undefined;
    const log = { debug: quiet, info: quiet, warn: (m: string) => this.logger?.warn({ baseUrl }, scrubSecret(m, jwt)), error: quiet };
    const octokit = new Octokit({
      auth: jwt,
      baseUrl,
      userAgent: 'agency-git-service',
      log,
      request: { fetch: (url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }) },
    });
    try {
      const { data } = await octokit.rest.apps.createInstallationAccessToken({ installation_id: installationId });
      this.issued.add(data.token);
      this.current = { token: data.token, expiresAtMs: Date.parse(data.expires_at) };
      this.logger?.info({ installationId, expiresAt: data.expires_at }, 'GitHub App installation token issued');
      return this.current;
    } catch (e) {
      const failure = httpFailureOf(e);
      const detail = scrubSecret(failure?.message ?? (e as Error).message, jwt);
      if (failure && (failure.status === 401 || failure.status === 403 || failure.status === 404)) {
        throw invalid(
          'GITHUB_APP_REFUSED',
          `GitHub refused an installation token for installation ${installationId} of app ${this.config.GITHUB_APP_ID} (${failure.status}: ${detail}); check GITHUB_APP_ID, its private key and GITHUB_APP_INSTALLATION_ID`,
        );
      }
      throw unavailable('GITHUB_UNREACHABLE', `asking GitHub for an installation token: ${detail}`);
    }
  }
}
