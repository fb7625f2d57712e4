import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ServiceConfig } from '@agency/config';

const HTTP_URL = /^https?:\/\/[^\s/]+(\/\S*)?$/;

/** The dashboard: a read model over the services' HTTP APIs and the event stream, plus the steering buttons. */
export class DashboardConfig extends ServiceConfig {
  override HTTP_PORT = 7107;

  /** The orchestrator's API (GET /sagas, POST /sagas/:frId/approve|reject|cancel|retry). */
  @IsString()
  @Matches(HTTP_URL, { message: 'ORCHESTRATOR_URL must be an http(s) URL such as http://127.0.0.1:7100' })
  ORCHESTRATOR_URL: string = 'http://127.0.0.1:7100';

  /** The registry's API (GET /jobs: the queue). */
  @IsString()
  @Matches(HTTP_URL, { message: 'REGISTRY_URL must be an http(s) URL such as http://127.0.0.1:7102' })
  REGISTRY_URL: string = 'http://127.0.0.1:7102';

  /** git-service's API: PR records of the local forge (local://owner/name/pulls/N links). */
  @IsString()
  @Matches(HTTP_URL, { message: 'GIT_SERVICE_URL must be an http(s) URL such as http://127.0.0.1:7105' })
  GIT_SERVICE_URL: string = 'http://127.0.0.1:7105';

  /** Where a trace is shown, e.g. http://localhost:16686/trace/{traceId} (Jaeger); unset: the id only. */
  @IsOptional()
  @IsString()
  @Matches(/^https?:\/\/\S*\{traceId\}\S*$/, { message: 'TRACE_URL_TEMPLATE must be an http(s) URL containing {traceId}' })
  TRACE_URL_TEMPLATE?: string;

  /** Where `agency eval run` keeps its suite runs (one folder each with report.json): the Eval runs page lists them. */
  @IsOptional()
  @IsString()
  EVAL_DIR?: string;

  /** How far back the event stream is read at start-up, for per-step costs and the recent-events list. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(24 * 90)
  EVENT_REPLAY_HOURS: number = 72;

  /** Milliseconds an upstream API call may take before the dashboard answers 502. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  UPSTREAM_TIMEOUT_MS: number = 10_000;
}
