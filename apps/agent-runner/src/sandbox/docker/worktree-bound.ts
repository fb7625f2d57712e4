/** How a job's worktree total (SANDBOX_WORKTREE_MB) is bounded. */
export enum WorktreeBoundKind {
  /** Each worktree is its own loop-mounted ext4 of the limit's size: the kernel refuses a write past it (ENOSPC). */
  FileSystem = 'filesystem',
  /** The runner measures the worktree (du) while a command runs and stops the command past the limit. */
  Measured = 'measured',
  /** SANDBOX_WORKTREE_MB=0: no total. */
  None = 'none',
}

export type WorktreeBound =
  | { kind: WorktreeBoundKind.FileSystem; limitMb: number }
  | { kind: WorktreeBoundKind.Measured; limitMb: number; reason: string }
  | { kind: WorktreeBoundKind.None };

/** What the machine offers for a per-job file system, probed at boot. */
export interface MountAbility {
  /** The runner's effective uid is 0 (mount(2) needs CAP_SYS_ADMIN). */
  root: boolean;
  /** /dev/loop-control exists (loop devices can be set up). */
  loopDevices: boolean;
  /** mkfs.ext4, mount and umount are on the PATH. */
  tools: boolean;
}

export interface WorktreeBoundInput {
  limitMb: number;
  mode: 'auto' | 'loop' | 'off';
  ability: MountAbility;
}

/** Why the runner cannot mount a file system per job; undefined when it can. */
function cannotMount(a: MountAbility): string | undefined {
  if (!a.root) return 'the runner is not root, so it cannot mount a file system per job';
  if (!a.loopDevices) return 'no loop devices (/dev/loop-control is missing)';
  if (!a.tools) return 'mkfs.ext4, mount or umount is not on the PATH';
  return undefined;
}

/**
 * Decides how the worktree total is bounded: by the kernel (a file system per job) when the mode
 * allows it and the machine can mount one, by measurement otherwise. `loop` on a machine that
 * cannot mount is a configuration error, thrown with the reason.
 */
export function worktreeBoundOf(input: WorktreeBoundInput): WorktreeBound {
  if (input.limitMb <= 0) return { kind: WorktreeBoundKind.None };
  if (input.mode === 'off') return { kind: WorktreeBoundKind.Measured, limitMb: input.limitMb, reason: 'SANDBOX_WORKTREE_FS=off' };
  const why = cannotMount(input.ability);
  if (why === undefined) return { kind: WorktreeBoundKind.FileSystem, limitMb: input.limitMb };
  if (input.mode === 'loop') throw new Error(`SANDBOX_WORKTREE_FS=loop but ${why}; set SANDBOX_WORKTREE_FS=auto to measure the worktree instead`);
  return { kind: WorktreeBoundKind.Measured, limitMb: input.limitMb, reason: why };
}

/** The boot log's words for the worktree's total. */
export function describeWorktreeBound(bound: WorktreeBound, checkMs: number): string {
  switch (bound.kind) {
    case WorktreeBoundKind.FileSystem:
      return `the worktree's total at ${bound.limitMb} MB, enforced by the kernel (a loop-mounted ext4 per job, SANDBOX_WORKTREE_MB; a write past it fails with ENOSPC and the step with SANDBOX_DISK_LIMIT)`;
    case WorktreeBoundKind.Measured:
      return `the worktree's total at ${bound.limitMb} MB, measured every ${checkMs} ms while a command runs (SANDBOX_WORKTREE_MB; the runner stops the command; no kernel bound: ${bound.reason})`;
    case WorktreeBoundKind.None:
      return `the worktree's total is not capped (SANDBOX_WORKTREE_MB=0)`;
  }
}
