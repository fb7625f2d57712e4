import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { ServiceConfig } from '@agency/config';

export class AgentRunnerConfig extends ServiceConfig {
  override HTTP_PORT = 7103;

  /** The vault: 20_agents/planner.md and coder.md give the prompts and limits. */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;

  /** The runner's own disk: repository mirrors (mirrors/), job worktrees (worktrees/<jobId>), job records (jobs/). */
  @IsString()
  @MinLength(1)
  WORK_DIR!: string;

  /** The LLM gateway's OpenAI-compatible base URL, e.g. http://127.0.0.1:7106/v1. */
  @IsString()
  @Matches(/^https?:\/\/\S+$/, { message: 'LLM_GATEWAY_URL must be an http(s) URL such as http://127.0.0.1:7106/v1' })
  LLM_GATEWAY_URL!: string;

  /** The agency's key for the gateway (secret: never logged, never passed to a test command). */
  @IsString()
  @MinLength(1)
  LLM_GATEWAY_API_KEY!: string;

  /** Milliseconds one model call may take before the client abandons (and retries) it. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(900_000)
  LLM_TIMEOUT_MS: number = 180_000;

  /** Wall-clock limit of a test step (setup plus test command); the whole process group is killed after it. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400)
  TEST_TIMEOUT_SECONDS: number = 600;

  /** How often a running plan/code/test step publishes a heartbeat event. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  HEARTBEAT_SECONDS: number = 10;

  /** A git command silent for this long is killed (a hung fetch from a forge). */
  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(7200)
  GIT_TIMEOUT_SECONDS: number = 300;

  /** Test output kept per command (its start and its end; the middle is dropped). */
  @Type(() => Number)
  @IsInt()
  @Min(10_000)
  @Max(100_000_000)
  TEST_OUTPUT_MAX_BYTES: number = 2_000_000;
}

/** Variables whose values never appear in logs or configuration errors. */
export const AGENT_RUNNER_SECRETS = ['LLM_GATEWAY_API_KEY'] as const;
