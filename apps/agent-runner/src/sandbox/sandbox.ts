export interface SandboxExecOptions {
  /** A shell command line, run with `sh -c` in the workspace. */
  command: string;
  /** Wall-clock limit; everything the command started is killed when it passes. */
  timeoutMs: number;
  /** Variables added to the sandbox's minimal environment (never the service's own secrets). */
  env?: Record<string, string>;
  /** Output as it arrives (stdout and stderr interleaved), e.g. for progress heartbeats. */
  onOutput?: (chunk: string) => void;
  /** Output kept for the result: its start and its end when longer. */
  maxOutputBytes?: number;
}

export interface SandboxOpenOptions {
  /** The job's worktree, as an absolute host path. */
  workspace: string;
  /** The job the sandbox serves: containers are named after it. */
  jobId: string;
  /** The repository's name in the vault (`repos.<name>`): it may name its own image and network. */
  repo?: string;
  /** The FR tier's container limits; each one absent keeps the runner's default. The process backend has no limits to set. */
  limits?: SandboxLimitOverrides;
  /**
   * `agent` (the default): the coder's commands, the tests and lint; never any network.
   * `environment`: the repository's setup (or a cache restore) before them, on `network`.
   */
  phase?: 'agent' | 'environment';
  /** The environment phase's network: `none`, or a Docker network (the registry proxy's, or the operator's choice). */
  network?: string;
  /** Host files or directories the environment phase sees (the cache entry to restore, the folder a new entry is written to). */
  mounts?: SandboxMount[];
}

/** A host path bind-mounted into an environment container. */
export interface SandboxMount {
  /** As this process sees it (under WORK_DIR). */
  hostPath: string;
  /** Where the command sees it. */
  target: string;
  readOnly: boolean;
}

/** Limits a tier may set for its sandboxes (StrategyDto.sandbox). */
export interface SandboxLimitOverrides {
  memoryMb?: number;
  cpus?: number;
  pids?: number;
}

export interface SandboxRunOptions extends SandboxExecOptions, Omit<SandboxOpenOptions, 'jobId'> {
  jobId?: string;
}

export interface SandboxResult {
  /** The command's exit code; 128 + signal number when a signal ended it. */
  exitCode: number;
  /** The signal that ended the command, if one did. */
  signal?: string;
  timedOut: boolean;
  /** The kernel killed the command because the sandbox ran out of its memory limit. */
  oomKilled?: boolean;
  /** A write went past the sandbox's disk limit (the per-file cap) and failed. */
  diskLimitHit?: boolean;
  /** A write found no space left (ENOSPC): the worktree's own file system or /tmp is full. */
  diskFull?: boolean;
  durationMs: number;
  /** stdout and stderr interleaved, cut in the middle when longer than the bound. */
  output: string;
  /** Bytes the command wrote in all, kept or not. */
  outputBytes: number;
  truncated: boolean;
}

/**
 * One job's sandbox for the length of a step: commands run one after the other, in the job's
 * worktree, and nothing another job runs can see it. close() ends everything still running and
 * gives the worktree back.
 */
export interface SandboxSession {
  readonly jobId: string;
  /** Where the command's working directory is, as the command sees it (for the model's benefit). */
  readonly workdir: string;
  exec(options: SandboxExecOptions): Promise<SandboxResult>;
  close(): Promise<void>;
}

/** The sandbox could not be provided (engine, image); `code` names the cause for step-failed events. */
export class SandboxError extends Error {
  constructor(
    readonly code: 'SANDBOX_IMAGE_MISSING' | 'SANDBOX_UNAVAILABLE' | 'SANDBOX_BROKEN' | 'SANDBOX_BUSY' | 'JOB_CANCELLED',
    message: string,
    /** Worth trying again later (the engine hiccuped), as opposed to a configuration problem. */
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}

/** Ended jobs remembered (a job id is never reused; this only bounds the memory). */
const ENDED_KEPT = 1000;

/**
 * Where agent commands run: a hardened container per job (DockerSandbox) or, where no engine
 * exists, a plain child process on the host (ProcessSandbox, not an isolation boundary).
 * An abstract class, so NestJS can inject it by type.
 */
export abstract class Sandbox {
  /** Which backend this is, for logs and health. */
  abstract readonly kind: 'docker' | 'process';
  /** Jobs closeJob ended (the newest ENDED_KEPT): a session that opens for one afterwards is refused. */
  private readonly ended = new Set<string>();

  abstract open(options: SandboxOpenOptions): Promise<SandboxSession>;

  /**
   * Where a session on this workspace runs its commands, as they see it (SandboxSession.workdir),
   * known before one is opened: the coder's prompt names it, and the session opens only at the first command.
   */
  abstract workdirFor(workspace: string): string;

  /** Ends everything running for a job (a cancelled job): its commands die, its container goes. Returns how many sessions ended. */
  abstract closeJob(jobId: string): Promise<number>;

  /**
   * Marks the job ended before its sessions are killed, so one that was opening meanwhile (work
   * between two sessions, like the warm-up's setup, archive and tests at the base) is refused by
   * `refuseEnded` once it exists, instead of running on for its full time.
   */
  protected markEnded(jobId: string): void {
    this.ended.add(jobId);
    if (this.ended.size > ENDED_KEPT) this.ended.delete(this.ended.values().next().value!);
  }

  /** Throws for a job closeJob ended; a backend calls it once its new session is registered (after that, closeJob finds it). */
  protected refuseEnded(jobId: string): void {
    if (this.ended.has(jobId)) throw new SandboxError('JOB_CANCELLED', `job ${jobId} was cancelled: its sandbox is closed`, false);
  }

  /** One command in a session of its own. */
  async run(options: SandboxRunOptions): Promise<SandboxResult> {
    const session = await this.open({
      workspace: options.workspace,
      jobId: options.jobId ?? 'adhoc',
      ...(options.repo ? { repo: options.repo } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    try {
      return await session.exec(options);
    } finally {
      await session.close();
    }
  }
}
