import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min, MinLength } from 'class-validator';
import { ServiceConfig } from '@agency/config';

export class RegistryConfig extends ServiceConfig {
  override HTTP_PORT = 7102;

  /** The vault whose 40_config/agency.yaml sets the concurrency limits. */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;

  /** How often queued jobs are looked at even when no event asks for it. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  DISPATCH_INTERVAL_MS: number = 2000;

  /** Waiting this long lifts a job one priority class, so low priority never starves. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  AGEING_STEP_MS: number = 10 * 60_000;

  /** Finished jobs stay in the store this long (`agency jobs`), then are archived. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  JOB_RETENTION_HOURS: number = 168;
}
