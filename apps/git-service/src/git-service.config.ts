import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min, MinLength } from 'class-validator';
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
}
