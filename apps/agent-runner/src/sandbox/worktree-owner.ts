import { lchownSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';
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

  /** Makes sure a non-root user owns the worktree and returns it. */
  prepare(worktree: string): SandboxUser {
    const info = statSync(worktree);
    if (info.uid !== 0) return { uid: info.uid, gid: info.gid };
    if (!this.runnerIsRoot) throw new SandboxError('SANDBOX_BROKEN', `worktree ${worktree} is owned by root, and a non-root runner cannot hand it to an unprivileged sandbox user`, false);
    chownTree(worktree, this.fallback.uid, this.fallback.gid);
    return this.fallback;
  }

  /** After the runner (as root) wrote into a prepared worktree: gives the new paths to the worktree's owner too. */
  adopt(worktree: string, paths: readonly string[]): void {
    if (!this.runnerIsRoot) return;
    // stat, not lstat: during a session the worktree's usual path is a symlink owned by the runner.
    const owner = statSync(worktree);
    if (owner.uid === 0) return;
    for (const p of paths) {
      const info = lstatSync(p, { throwIfNoEntry: false });
      if (info && (info.uid !== owner.uid || info.gid !== owner.gid)) lchownSync(p, owner.uid, owner.gid);
    }
  }
}

/** lchown of every entry not already owned right (symlinks themselves, never their targets). */
export function chownTree(root: string, uid: number, gid: number): number {
  let changed = 0;
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.uid !== uid || info.gid !== gid) {
      lchownSync(path, uid, gid);
      changed += 1;
    }
    if (info.isDirectory()) for (const name of readdirSync(path)) stack.push(join(path, name));
  }
  return changed;
}
