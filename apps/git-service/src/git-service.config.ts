import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateIf } from 'class-validator';
import { ServiceConfig } from '@agency/config';

export class GitServiceConfig extends ServiceConfig {
  override HTTP_PORT = 7105;

  /** The vault whose 40_config/agency.yaml names the forges (forges.local.root) and the repositories. */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;

  /** git-service's own working area: repository mirrors, merge worktrees, bundle files in transit. */
  @IsString()
  @MinLength(1)
  WORK_DIR!: string;

  /** A git command still silent after this long is killed (a hung fetch must not hold a repo lock forever). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  GIT_TIMEOUT_MS: number = 300_000;

  /** Largest diff the HTTP API returns for a PR; longer ones are cut and marked truncated. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(50_000_000)
  DIFF_MAX_BYTES: number = 1_000_000;

  /** Token for GitHub's REST/GraphQL API and git over HTTPS (secret: never logged). Needed only for `forge: github` repositories. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  GITHUB_TOKEN?: string;

  /** A GitHub App's id: git-service then authenticates as that app's installation (its installation tokens), not with GITHUB_TOKEN. */
  @IsOptional()
  @Matches(/^\d{1,12}$/, { message: 'GITHUB_APP_ID must be the app\'s numeric id (the app\'s settings page, "App ID")' })
  GITHUB_APP_ID?: string;

  /** The app's private key, PEM (secret: never logged); or GITHUB_APP_PRIVATE_KEY_FILE. */
  @IsOptional()
  @IsString()
  @MinLength(64)
  GITHUB_APP_PRIVATE_KEY?: string;

  /** A file holding the app's private key (PEM), e.g. a mounted Secret. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  GITHUB_APP_PRIVATE_KEY_FILE?: string;

  /** The installation of the app on the account (user or organisation) whose repositories the agency works on. */
  @ValidateIf((c: GitServiceConfig) => c.GITHUB_APP_ID !== undefined || c.GITHUB_APP_INSTALLATION_ID !== undefined)
  @Matches(/^\d{1,15}$/, {
    message: "GITHUB_APP_INSTALLATION_ID must be the numeric id of the app's installation (required with GITHUB_APP_ID; its settings URL ends with it)",
  })
  GITHUB_APP_INSTALLATION_ID?: string;

  /** GitHub's API base URL; overrides forges.github.api_url of agency.yaml (GitHub Enterprise: https://<host>/api/v3). */
  @IsOptional()
  @IsString()
  @Matches(/^https?:\/\/[^\s/]+(\/\S*)?$/, { message: 'GITHUB_API_URL must be an http(s) URL such as https://api.github.com' })
  GITHUB_API_URL?: string;

  /** Secret of the repository's webhook; without it POST /forge/github/webhooks refuses every delivery (secret: never logged). */
  @IsOptional()
  @IsString()
  @MinLength(1)
  GITHUB_WEBHOOK_SECRET?: string;

  /** A rate-limited GitHub call waits up to this long for the limit to reset; a longer wait hands the command back for redelivery. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  GITHUB_RATE_LIMIT_MAX_WAIT_MS: number = 60_000;

  /**
   * How often the open and recently closed PRs of each GitHub repository are read for merges,
   * closes and reviews (a fallback when webhooks do not reach git-service); 0 switches polling
   * off. Conditional requests: a poll that finds nothing new costs no rate limit.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86_400)
  GITHUB_POLL_SECONDS: number = 60;

  /** One GitHub API request is abandoned after this long. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  GITHUB_REQUEST_TIMEOUT_MS: number = 30_000;

  /**
   * The service credential agent-runners present to read repositories through git-service
   * (`Authorization: Bearer <it>` on GIT_MIRROR_PORT). Without it the mirror server does not
   * listen. It reads only: it is never a forge token (secret: never logged).
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'GIT_MIRROR_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)' })
  GIT_MIRROR_TOKEN?: string;

  /** Port of the read-only git smart-HTTP server over the configured repositories (listens only with GIT_MIRROR_TOKEN). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  GIT_MIRROR_PORT: number = 7115;
}

/** Variables whose values never appear in logs or configuration errors. */
export const GIT_SERVICE_SECRETS = ['GITHUB_TOKEN', 'GITHUB_WEBHOOK_SECRET', 'GIT_MIRROR_TOKEN', 'GITHUB_APP_PRIVATE_KEY'] as const;
