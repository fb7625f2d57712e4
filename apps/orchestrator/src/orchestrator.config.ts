import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { ServiceConfig } from '@agency/config';

export class OrchestratorConfig extends ServiceConfig {
  override HTTP_PORT = 7100;

  /** The vault: FRs, agents, review rules and 40_config/agency.yaml. */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;

  /** Full rescan of the planned folder, besides file-system events (which some mounts lack). */
  @Type(() => Number)
  @IsInt()
  @Min(200)
  @Max(600_000)
  SCAN_INTERVAL_MS: number = 5000;

  /** Link to an FR's trace, e.g. http://localhost:16686/trace/{traceId} for Jaeger. */
  @IsOptional()
  @IsString()
  @Matches(/\{traceId\}/, { message: 'TRACE_URL_TEMPLATE must contain {traceId}' })
  TRACE_URL_TEMPLATE?: string;

  /** Times a retryable step failure is re-driven before the FR is blocked. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  STEP_MAX_ATTEMPTS: number = 3;

  /** Wait before re-driving a step that failed in a retryable way; doubles per attempt, at most 5 minutes. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(300_000)
  STEP_RETRY_BACKOFF_MS: number = 5000;

  /** A step with neither a result nor a heartbeat for this long is re-driven. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  STEP_QUIET_SECONDS: number = 180;

  /** A step attempt running longer than this, heartbeats or not, is re-driven. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  STEP_DEADLINE_SECONDS: number = 3600;

  /** How often the sweeper looks for overdue steps (one orchestrator replica sweeps, by lease). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  SWEEP_INTERVAL_MS: number = 5000;

  /**
   * A file that does not parse and was written less than this long ago is left alone until it
   * settles (an editor or a copy may still be writing it) instead of being moved to blocked.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60_000)
  FR_SETTLE_MS: number = 2000;

  /** An FR file larger than this is refused at intake (never read whole, never rewritten). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(180_000)
  FR_MAX_BYTES: number = 100_000;

  /** Keep the branch of a cancelled or rejected run on the forge for people to look at (its PR is closed all the same). */
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'KEEP_STOPPED_BRANCHES must be true or false' })
  KEEP_STOPPED_BRANCHES: boolean = false;

  /** Finished runs stay in the saga store this long (status, the dashboard), then are archived: the FR file and the audit stream keep their story. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  SAGA_RETENTION_HOURS: number = 168;

  /** People's listing (GET /sagas: status, the dashboard) shows every active run and at most this many finished ones, the newest; any run is still read by its FR. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  SAGA_LIST_FINISHED: number = 200;
}
