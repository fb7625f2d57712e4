/** A path the model asked for that would leave the worktree or touch git's own files. */
export class UnsafePathError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`path "${path}" ${problem}`);
    this.name = 'UnsafePathError';
  }
}

/**
 * The job's worktree is not where and what the runner left it: a sandboxed command replaced
 * /workspace/repo (the slot's `repo/`) with a link or another directory, or moved it away. The
 * step fails for good (`WORKSPACE_TAMPERED`); nothing on the host is touched through it.
 */
export class WorkspaceTamperedError extends Error {
  readonly code = 'WORKSPACE_TAMPERED';
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceTamperedError';
  }
}
