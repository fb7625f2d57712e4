import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
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

  /** Wall-clock limit of one run_command of the coder. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400)
  COMMAND_TIMEOUT_SECONDS: number = 300;

  /**
   * Where commands run: `docker` (the default: a hardened container per job; the runner will not
   * boot without an engine) or `process` (host child processes, no isolation: chosen explicitly,
   * e.g. by `agency up` on a machine without Docker).
   */
  @IsIn(['docker', 'process'])
  SANDBOX: 'docker' | 'process' = 'docker';

  /** The sandbox image of repositories whose vault entry names none (`repos.<name>.image`). */
  @IsString()
  @MinLength(1)
  SANDBOX_IMAGE: string = 'agency/sandbox:latest';

  /** Ready containers kept per image, so a job does not wait for a cold start; 0 turns the pool off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(64)
  SANDBOX_POOL_SIZE: number = 2;

  /**
   * Who the runner's containers belong to: the reaper removes this owner's leftovers at start-up,
   * so it must stay the same across restarts and differ between runners sharing an engine.
   * Unset: `agent-runner-<host>-<hash of WORK_DIR>` (see sandboxOwnerOf).
   */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: 'SANDBOX_OWNER may only contain letters, digits, "_", "." and "-" (at most 63)' })
  SANDBOX_OWNER?: string;

  @Type(() => Number)
  @IsInt()
  @Min(64)
  @Max(1_048_576)
  SANDBOX_MEMORY_MB: number = 2048;

  @Type(() => Number)
  @IsNumber()
  @Min(0.1)
  @Max(256)
  SANDBOX_CPUS: number = 1;

  /** Processes and threads a sandbox may have at once (a fork bomb stops here). */
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(65_536)
  SANDBOX_PIDS: number = 256;

  /** Size of the sandbox's writable /tmp (also HOME and the package caches). */
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(65_536)
  SANDBOX_TMP_MB: number = 1024;

  /** `none` (default): no network at all. A Docker network name gives repositories that must download one. */
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'SANDBOX_NETWORK must be "none" or a Docker network name' })
  SANDBOX_NETWORK: string = 'none';

  /** The sandbox user when the runner runs as root (otherwise the runner's own uid/gid, which owns the worktrees). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  SANDBOX_UID: number = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  SANDBOX_GID: number = 1000;

  /** WORK_DIR as the Docker engine sees it, when the runner itself runs in a container with WORK_DIR mounted from the host. */
  @IsOptional()
  @IsString()
  @Matches(/^\//, { message: 'SANDBOX_HOST_WORK_DIR must be an absolute path' })
  SANDBOX_HOST_WORK_DIR?: string;
}

/**
 * The sandbox owner: SANDBOX_OWNER, or one derived from the host and the runner's disk. A runner
 * restarted on the same WORK_DIR finds its orphans; two runners (two local stacks, tests) never
 * reap each other's containers.
 */
export function sandboxOwnerOf(config: Pick<AgentRunnerConfig, 'SANDBOX_OWNER' | 'WORK_DIR'>): string {
  if (config.SANDBOX_OWNER) return config.SANDBOX_OWNER;
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 30);
  const disk = createHash('sha256').update(resolve(config.WORK_DIR)).digest('hex').slice(0, 10);
  return `agent-runner-${host}-${disk}`;
}

/** Variables whose values never appear in logs or configuration errors. */
export const AGENT_RUNNER_SECRETS = ['LLM_GATEWAY_API_KEY'] as const;
