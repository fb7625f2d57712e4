export interface SandboxRunOptions {
  /** A shell command line, run with `sh -c`. */
  command: string;
  /** The workspace (job worktree) the command runs in, as an absolute host path. */
  workspace: string;
  /** Wall-clock limit; everything the command started is killed when it passes. */
  timeoutMs: number;
  /** Variables added to the sandbox's minimal environment (never the service's own secrets). */
  env?: Record<string, string>;
  /** Output as it arrives (stdout and stderr interleaved), e.g. for progress heartbeats. */
  onOutput?: (chunk: string) => void;
  /** Output kept for the result: its start and its end when longer. */
  maxOutputBytes?: number;
}

export interface SandboxResult {
  /** The command's exit code; 128 + signal number when a signal ended it. */
  exitCode: number;
  /** The signal that ended the command, if one did. */
  signal?: string;
  timedOut: boolean;
  durationMs: number;
  /** stdout and stderr interleaved, cut in the middle when longer than the bound. */
  output: string;
  /** Bytes the command wrote in all, kept or not. */
  outputBytes: number;
  truncated: boolean;
}

/**
 * Where agent commands run. This round it is a plain child process on the host
 * (ProcessSandbox); a container backend implements the same contract later.
 * An abstract class, so NestJS can inject it by type.
 */
export abstract class Sandbox {
  abstract run(options: SandboxRunOptions): Promise<SandboxResult>;
}
