import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateIf } from 'class-validator';
import { ServiceConfig } from '@agency/config';

/** An image reference whose first part is a registry host (localhost, a name with a dot or a port), or an image id. */
export const QUALIFIED_IMAGE =
  /^((localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:\d+)?|[A-Za-z0-9-]+:\d+)\/[a-z0-9]+([._/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$|^sha256:[0-9a-f]{64}$/;

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
  /** A model call must start answering within this (the gateway's first chunk); a streamed answer is never cut while it keeps coming. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  LLM_TIMEOUT_MS: number = 180_000;

  /** Silence longer than this in a streaming answer gives the try up (it is tried again, then the step fails retryably). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  LLM_IDLE_TIMEOUT_MS: number = 60_000;

  /** Wall-clock limit of a test step (setup plus test command); the whole process group is killed after it. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400)
  TEST_TIMEOUT_SECONDS: number = 600;

  /** Wall-clock limit of the repository's lint command (`repos.<name>.lint`), run by the test step after the tests. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400)
  LINT_TIMEOUT_SECONDS: number = 300;

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

  /**
   * git-service's read-only git server (its GIT_MIRROR_PORT), e.g. http://git-service:7115. When
   * set, GitHub repositories are cloned and fetched through it, so private ones work without the
   * forge token ever reaching the runner; unset, they are fetched from their clone URL as is.
   */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/]+\/?$/, { message: 'GIT_MIRROR_URL must be an http(s) base URL such as http://git-service:7115' })
  GIT_MIRROR_URL?: string;

  /** The service credential git-service's mirror server takes (its GIT_MIRROR_TOKEN); required with GIT_MIRROR_URL (secret: never logged). */
  @ValidateIf((c: AgentRunnerConfig) => c.GIT_MIRROR_URL !== undefined || c.GIT_MIRROR_TOKEN !== undefined)
  @IsString({ message: "GIT_MIRROR_TOKEN is required with GIT_MIRROR_URL (the same value as git-service's GIT_MIRROR_TOKEN)" })
  @MinLength(16)
  GIT_MIRROR_TOKEN?: string;

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
   * boot without an engine) or `process` (host child processes in namespaces where the host
   * allows them: chosen explicitly, e.g. by `agency up` on a machine without Docker).
   */
  @IsIn(['docker', 'process'])
  SANDBOX: 'docker' | 'process' = 'docker';

  /**
   * `allow`: run SANDBOX=process even though an agent's model is not scripted (a live model writes
   * the commands). Unset, such a runner refuses to start, and refuses each session if the vault
   * changes to one. Named loudly on purpose: host processes are a weaker boundary than containers.
   */
  @IsOptional()
  @IsIn(['allow'], { message: 'SANDBOX_PROCESS_UNSAFE must be "allow" or unset' })
  SANDBOX_PROCESS_UNSAFE?: 'allow';

  /**
   * The sandbox image of repositories whose vault entry names none (`repos.<name>.image`). Its
   * name carries a registry host: a bare `agency/sandbox` that is missing would be pulled from
   * Docker Hub's `agency` namespace (anyone's) by whatever pulls it (the k3s init container).
   */
  @IsString()
  @Matches(QUALIFIED_IMAGE, {
    message:
      'SANDBOX_IMAGE must name its registry host, e.g. localhost/agency/sandbox:latest or registry.example.com/agency/sandbox:1.0 (a bare name is pulled from Docker Hub)',
  })
  SANDBOX_IMAGE: string = 'localhost/agency/sandbox:latest';

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

  /**
   * The most a sandboxed command may write into one file (the worktree included), enforced by the
   * kernel through the container's `ulimit fsize`: a write past it fails (EFBIG / SIGXFSZ) and the
   * step fails with SANDBOX_DISK_LIMIT. /tmp is bounded by SANDBOX_TMP_MB; see the README for what
   * bounds the worktree as a whole.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_048_576)
  SANDBOX_DISK_MB: number = 4096;

  /**
   * The most a job's worktree may hold as a whole (0: no limit); past it the step fails
   * with SANDBOX_DISK_LIMIT. With SANDBOX_WORKTREE_FS the kernel enforces it instead (a write
   * past it fails with ENOSPC); otherwise the runner measures it (du) while each command runs,
   * every SANDBOX_DISK_CHECK_MS, and stops the command past it (README, Disk limit).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_048_576)
  SANDBOX_WORKTREE_MB: number = 10_240;

  /**
   * How SANDBOX_WORKTREE_MB is enforced: `auto` (default) gives each job's worktree its own
   * loop-mounted ext4 of that size when the runner can mount one (root, loop devices, mkfs.ext4;
   * otherwise through the engine when a trial mount at boot reaches the runner) and measures it
   * otherwise; `loop` requires the file system (boot fails without it); `off`
   * always measures.
   */
  @IsIn(['auto', 'loop', 'off'], { message: 'SANDBOX_WORKTREE_FS must be auto, loop or off' })
  SANDBOX_WORKTREE_FS: 'auto' | 'loop' | 'off' = 'auto';

  /**
   * Run the test command once at the job's base, after the setup and before the coder's first
   * command, and tell the coder how it went (what already failed is not its doing).
   */
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'BASELINE_TESTS must be true or false' })
  BASELINE_TESTS: boolean = true;

  /**
   * Build the job's environment (worktree, setup, tests at the base) while its plan is written,
   * instead of when coding starts; the code step waits for it.
   */
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'ENVIRONMENT_WARMUP must be true or false' })
  ENVIRONMENT_WARMUP: boolean = true;

  /** How often the worktree's total is measured while a command runs. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  SANDBOX_DISK_CHECK_MS: number = 2000;

  /** Size of the sandbox's writable /tmp (also HOME and the package caches). */
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(65_536)
  SANDBOX_TMP_MB: number = 1024;

  /**
   * The network of a repository's setup when its vault entry names none (`repos.<name>.network`):
   * `registries` (default: only the package registries the repository uses, through the runner's
   * allowlisting proxy), `none`, or a Docker network name. The agent phase never has a network.
   */
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'SANDBOX_NETWORK must be "registries", "none" or a Docker network name' })
  SANDBOX_NETWORK: string = 'registries';

  /**
   * A CA bundle (PEM: public roots and a TLS-intercepting proxy's CA) that setup containers trust,
   * for networks where such a proxy sits between the machine and the registries. Unset: the image's roots.
   */
  @IsOptional()
  @IsString()
  SANDBOX_CA_BUNDLE?: string;

  /** Wall-clock limit of a repository's setup command (run once per job, before the coder's first command). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400)
  SETUP_TIMEOUT_SECONDS: number = 900;

  /** Disk kept for cached environments (what setups installed, per repository, image, setup command and lock files); 0 turns the cache off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_485_760)
  ENV_CACHE_MAX_MB: number = 10_240;

  /** The image of the registry proxy containers (needs `node`); unset: SANDBOX_IMAGE. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  REGISTRY_PROXY_IMAGE?: string;

  /** The Docker network the registry proxy reaches the registries through. */
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'REGISTRY_PROXY_EGRESS_NETWORK must be a Docker network name' })
  REGISTRY_PROXY_EGRESS_NETWORK: string = 'bridge';

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
  const host = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 30);
  const disk = createHash('sha256').update(resolve(config.WORK_DIR)).digest('hex').slice(0, 10);
  return `agent-runner-${host}-${disk}`;
}

/** Variables whose values never appear in logs or configuration errors. */
export const AGENT_RUNNER_SECRETS = ['LLM_GATEWAY_API_KEY', 'GIT_MIRROR_TOKEN'] as const;
