import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Injectable, Optional } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { JobRecordRepository, type WorktreeIdentity } from '../git/job-record.repository.js';
import { REPO_DIR } from '../sandbox/docker/container-spec.js';
import { slotsRootOf } from '../sandbox/docker/slot-directories.js';
import { DirHandle, kindOf } from './dir-handle.js';
import { WorkspaceTamperedError } from './path-errors.js';

/** A job's worktree directory, open. */
export interface OpenedRoot {
  handle: DirHandle;
  /**
   * Where the directory is right now (its home under worktrees/, or its sandbox slot's repo/),
   * checked component by component: for programs that need a path (git).
   */
  path: string;
  close(): void;
}

/** What the sandbox did to /workspace/repo, in words. */
function tamperedSlot(entry: Stats | undefined, slot: DirHandle): WorkspaceTamperedError | undefined {
  if (!entry) return new WorkspaceTamperedError("the job's worktree is gone from its sandbox slot: a command removed or moved /workspace/repo");
  if (entry.isSymbolicLink()) return new WorkspaceTamperedError(`a command replaced /workspace/repo with a symlink (to ${slot.readlink(REPO_DIR)})`);
  if (!entry.isDirectory()) return new WorkspaceTamperedError(`a command replaced /workspace/repo with ${kindOf(entry)}`);
  return undefined;
}

/**
 * Opens a job's worktree without following anything the sandbox could have changed. At home
 * (`<WORK_DIR>/worktrees/<job>`, a place no sandbox sees) it is a directory. During a session
 * it is the runner's own link to `<WORK_DIR>/sandbox/slots/<id>/repo`; the slot directory is
 * the container's mount point (a command cannot replace it), but `repo` inside it can be
 * renamed, removed or swapped for a link by a command: it is opened with O_NOFOLLOW, and when
 * the job's record knows the worktree's identity (dev/ino, taken at home), it must be that
 * directory. Anything else is WorkspaceTamperedError.
 */
export function openWorktreeRoot(root: string, expected?: WorktreeIdentity): OpenedRoot {
  const info = lstatSync(root, { throwIfNoEntry: false });
  if (!info) throw new Error(`the worktree ${root} does not exist`);
  let handle: DirHandle;
  let path = root;
  if (info.isDirectory()) {
    handle = DirHandle.open(root);
  } else if (info.isSymbolicLink()) {
    const target = resolve(dirname(root), readlinkSync(root));
    const slotsRoot = slotsRootOf(dirname(dirname(root)));
    const parts = relative(slotsRoot, target).split(sep);
    if (basename(dirname(root)) !== 'worktrees' || parts.length !== 2 || parts[1] !== REPO_DIR || parts[0] === '..' || !parts[0]) {
      throw new WorkspaceTamperedError(`the worktree ${root} is a symlink to ${target}, not to a sandbox slot`);
    }
    const slot = DirHandle.open(join(slotsRoot, parts[0]));
    try {
      const entry = slot.lstat(REPO_DIR);
      const tampered = tamperedSlot(entry, slot);
      if (tampered) throw tampered;
      handle = slot.openDir(REPO_DIR, entry);
    } finally {
      slot.close();
    }
    path = target;
  } else {
    throw new WorkspaceTamperedError(`the worktree ${root} is ${kindOf(info)}, not a directory`);
  }
  if (expected && (handle.stats.dev !== expected.dev || handle.stats.ino !== expected.ino)) {
    handle.close();
    throw new WorkspaceTamperedError(
      `the directory at ${path === root ? root : '/workspace/repo'} is not the job's worktree: a command moved the worktree away and put another directory in its place`,
    );
  }
  return { handle, path, close: () => handle.close() };
}

/** The identity a worktree must have: its job record's, when the root is one of this runner's worktrees. */
@Injectable()
export class WorktreeRoots {
  private readonly worktreesDir?: string;

  constructor(
    @Optional() config?: AgentRunnerConfig,
    @Optional() private readonly records?: JobRecordRepository,
  ) {
    if (config?.WORK_DIR) this.worktreesDir = join(resolve(config.WORK_DIR), 'worktrees');
  }

  open(root: string): OpenedRoot {
    return openWorktreeRoot(root, this.identityOf(root));
  }

  private identityOf(root: string): WorktreeIdentity | undefined {
    if (!this.records || !this.worktreesDir || dirname(resolve(root)) !== this.worktreesDir) return undefined;
    return this.records.get(basename(root))?.worktree;
  }
}
