import { lchownSync, lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import type { DirHandle } from '../files/dir-handle.js';
import { openWorktreeRoot } from '../files/worktree-roots.js';
import { SandboxError } from './sandbox.js';

export interface SandboxUser {
  uid: number;
  gid: number;
}

/**
 * Who commands run as: the owner of the worktree, so files stay writable on both sides and
 * nothing runs as root. A runner that itself runs as root (a dev machine, CI) owns its worktrees
 * as root; it hands them to SANDBOX_UID/SANDBOX_GID instead, the image's unprivileged user.
 */
@Injectable()
export class WorktreeOwner {
  private readonly fallback: SandboxUser;

  constructor(config: AgentRunnerConfig) {
    this.fallback = { uid: config.SANDBOX_UID, gid: config.SANDBOX_GID };
  }

  private get runnerIsRoot(): boolean {
    return process.getuid?.() === 0;
  }

  /** The user pooled containers are started as: the one worktrees will be owned by. */
  expectedUser(): SandboxUser {
    if (this.runnerIsRoot) return this.fallback;
    return { uid: process.getuid?.() ?? this.fallback.uid, gid: process.getgid?.() ?? this.fallback.gid };
  }

  /**
   * Makes sure a non-root user owns the worktree and everything in it, and returns it. A root
   * runner walks the whole tree every time: its own git (worktree add, checkout, clean) writes
   * files as root into a directory it handed over before, and a root-owned file is one the
   * sandbox cannot rewrite (a trial's `vitest -u` failed with EACCES on the test file). node_modules
   * is skipped: only commands in the sandbox write there, as its user.
   */
  prepare(worktree: string): SandboxUser {
    const info = statSync(worktree);
    if (!this.runnerIsRoot) {
      if (info.uid !== 0) return { uid: info.uid, gid: info.gid };
      throw new SandboxError(
        'SANDBOX_BROKEN',
        `worktree ${worktree} is owned by root, and a non-root runner cannot hand it to an unprivileged sandbox user`,
        false,
      );
    }
    const owner = info.uid !== 0 ? { uid: info.uid, gid: info.gid } : this.fallback;
    chownTree(worktree, owner.uid, owner.gid, SANDBOX_WRITTEN);
    return owner;
  }

  /** Who files the runner creates in a worktree owned as `root` says must go to; undefined when they stay the runner's. */
  ownerFor(root: Stats): SandboxUser | undefined {
    if (!this.runnerIsRoot || root.uid === 0) return undefined;
    return { uid: root.uid, gid: root.gid };
  }

  /**
   * After the runner (as root) wrote into a prepared worktree (git apply): gives the new paths,
   * and directories on the way, to the worktree's owner too. Paths are looked up without
   * following links (a path through a link is left alone), so no file outside is ever chowned.
   */
  adopt(worktree: string, paths: readonly string[]): void {
    if (!this.runnerIsRoot) return;
    const opened = openWorktreeRoot(worktree);
    try {
      const owner = this.ownerFor(opened.handle.stats);
      if (!owner) return;
      for (const p of paths) adoptPath(opened.handle, p.startsWith(`${worktree}/`) ? p.slice(worktree.length + 1) : p, owner);
    } finally {
      opened.close();
    }
  }
}

/** lchown of each component of `rel` under `root` not owned right, walking with no-follow handles; stops at anything that is not a plain directory. */
function adoptPath(root: DirHandle, rel: string, owner: SandboxUser): void {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return;
  const opened: DirHandle[] = [];
  try {
    let dir = root;
    for (const [i, name] of parts.entries()) {
      const info = dir.lstat(name);
      if (!info || (info.nlink > 1 && !info.isDirectory())) return;
      if (info.uid !== owner.uid || info.gid !== owner.gid) dir.lchown(name, owner.uid, owner.gid);
      if (i === parts.length - 1 || !info.isDirectory()) return;
      dir = dir.openDir(name, info);
      opened.push(dir);
    }
  } finally {
    for (const d of opened) d.close();
  }
}

/** Directories only sandboxed commands write into (as the sandbox user): chownTree need not walk them. */
const SANDBOX_WRITTEN: ReadonlySet<string> = new Set(['node_modules']);

/** lchown of every entry not already owned right (symlinks themselves, never their targets); directories named in `skip` are left as they are. */
export function chownTree(root: string, uid: number, gid: number, skip: ReadonlySet<string> = new Set()): number {
  let changed = 0;
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const info = lstatSync(path, { throwIfNoEntry: false });
    // A file with several names may be linked from outside the worktree (a host process's doing): never given away.
    if (!info || (!info.isDirectory() && info.nlink > 1)) continue;
    if (info.uid !== uid || info.gid !== gid) {
      lchownSync(path, uid, gid);
      changed += 1;
    }
    if (info.isDirectory()) for (const name of readdirSync(path)) if (!skip.has(name)) stack.push(join(path, name));
  }
  return changed;
}
