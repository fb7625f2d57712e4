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
  | { kind: WorktreeBoundKind.FileSystem; limitMb: number; via: 'host' | 'engine' }
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
  /** A trial mount through the engine's helper container, seen by the runner, or why not; absent when not tried. */
  engine?: { ok: true } | { ok: false; why: string };
}

export interface WorktreeBoundInput {
  limitMb: number;
  mode: 'auto' | 'loop' | 'off';
  ability: MountAbility;
}

/** Why the runner cannot mount a file system per job itself; undefined when it can. */
export function cannotMount(a: MountAbility): string | undefined {
  if (!a.root) return 'the runner is not root, so it cannot mount a file system per job';
  if (!a.loopDevices) return 'no loop devices (/dev/loop-control is missing)';
  if (!a.tools) return 'mkfs.ext4, mount or umount is not on the PATH';
  return undefined;
}

/** Whether a trial mount through the engine is worth making: a kernel bound is wanted and the runner cannot mount itself. */
export function wantsEngineTrial(input: Omit<WorktreeBoundInput, 'ability'> & { ability: Omit<MountAbility, 'engine'> }): boolean {
  return input.limitMb > 0 && input.mode !== 'off' && cannotMount(input.ability) !== undefined;
}

/**
 * Decides how the worktree total is bounded: by the kernel (a file system per job) when the mode
 * allows it and the runner can mount one (itself as root, else through the engine), by measurement otherwise. `loop` on a machine that
 * cannot mount is a configuration error, thrown with the reason.
 */
export function worktreeBoundOf(input: WorktreeBoundInput): WorktreeBound {
  if (input.limitMb <= 0) return { kind: WorktreeBoundKind.None };
  if (input.mode === 'off') return { kind: WorktreeBoundKind.Measured, limitMb: input.limitMb, reason: 'SANDBOX_WORKTREE_FS=off' };
  const hostWhy = cannotMount(input.ability);
  if (hostWhy === undefined) return { kind: WorktreeBoundKind.FileSystem, limitMb: input.limitMb, via: 'host' };
  const engine = input.ability.engine;
  if (engine?.ok) return { kind: WorktreeBoundKind.FileSystem, limitMb: input.limitMb, via: 'engine' };
  const why = engine ? `${hostWhy}, and the engine cannot mount one for it (${engine.why})` : hostWhy;
  if (input.mode === 'loop') throw new Error(`SANDBOX_WORKTREE_FS=loop but ${why}; set SANDBOX_WORKTREE_FS=auto to measure the worktree instead`);
  return { kind: WorktreeBoundKind.Measured, limitMb: input.limitMb, reason: why };
}

/** The boot log's words for the worktree's total. */
export function describeWorktreeBound(bound: WorktreeBound, checkMs: number): string {
  switch (bound.kind) {
    case WorktreeBoundKind.FileSystem:
      return `the worktree's total at ${bound.limitMb} MB, enforced by the kernel (a loop-mounted ext4 per job, mounted ${bound.via === 'host' ? 'by the runner' : "through the engine's helper container"}, SANDBOX_WORKTREE_MB; a write past it fails with ENOSPC and the step with SANDBOX_DISK_LIMIT)`;
    case WorktreeBoundKind.Measured:
      return `the worktree's total at ${bound.limitMb} MB, measured every ${checkMs} ms while a command runs (SANDBOX_WORKTREE_MB; the runner stops the command; no kernel bound: ${bound.reason})`;
    case WorktreeBoundKind.None:
      return `the worktree's total is not capped (SANDBOX_WORKTREE_MB=0)`;
  }
}
