import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
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

  /** One GitHub API request is abandoned after this long. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  GITHUB_REQUEST_TIMEOUT_MS: number = 30_000;
}

/** Variables whose values never appear in logs or configuration errors. */
export const GIT_SERVICE_SECRETS = ['GITHUB_TOKEN', 'GITHUB_WEBHOOK_SECRET'] as const;
