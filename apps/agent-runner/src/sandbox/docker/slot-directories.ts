import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgentRunnerConfig } from '../../agent-runner.config.js';
import { SandboxError } from '../sandbox.js';
import { REPO_DIR } from './container-spec.js';

export interface Slot {
  id: string;
  /** The slot as this process sees it. */
  dir: string;
  /** The slot as the Docker engine sees it (differs when the runner itself runs in a container). */
  hostDir: string;
}

/**
 * Slot directories: each sandbox container mounts one empty slot at /workspace, so a warm
 * container can exist before any job. A job's worktree moves into its container's slot for the
 * length of a session (a rename: same file system, O(1)) and a symlink stands in at its usual
 * place, so host code keeps using the usual path. A container only ever sees its own slot, so no
 * job sees another job's files. After a crash, recover() moves stranded worktrees back.
 */
@Injectable()
export class SlotDirectories {
  readonly root: string;
  private readonly hostRoot: string;

  constructor(config: AgentRunnerConfig) {
    this.root = join(resolve(config.WORK_DIR), 'sandbox', 'slots');
    this.hostRoot = config.SANDBOX_HOST_WORK_DIR ? join(config.SANDBOX_HOST_WORK_DIR, 'sandbox', 'slots') : this.root;
  }

  create(): Slot {
    const id = randomUUID().slice(0, 12);
    const dir = join(this.root, id);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return { id, dir, hostDir: join(this.hostRoot, id) };
  }

  /** Moves the worktree into the slot and leaves a symlink at its usual path. */
  moveIn(slot: Slot, worktree: string): void {
    const info = lstatSync(worktree, { throwIfNoEntry: false });
    if (!info) throw new SandboxError('SANDBOX_BROKEN', `workspace ${worktree} does not exist`, false);
    if (info.isSymbolicLink()) throw new SandboxError('SANDBOX_BUSY', `workspace ${worktree} is already in a sandbox (another step of the same job is running)`);
    if (!info.isDirectory()) throw new SandboxError('SANDBOX_BROKEN', `workspace ${worktree} is not a directory`, false);
    const inside = join(slot.dir, REPO_DIR);
    try {
      renameSync(worktree, inside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EXDEV') {
        throw new SandboxError('SANDBOX_BROKEN', `workspace ${worktree} is not on the file system of WORK_DIR (${this.root}); the Docker sandbox moves worktrees into its slots and needs both on one file system`, false);
      }
      throw e;
    }
    try {
      symlinkSync(inside, worktree, 'dir');
    } catch (e) {
      renameSync(inside, worktree);
      throw e;
    }
  }

  /** Puts the worktree back at its usual path. */
  moveOut(slot: Slot, worktree: string): void {
    const inside = join(slot.dir, REPO_DIR);
    const info = lstatSync(worktree, { throwIfNoEntry: false });
    if (info?.isSymbolicLink()) unlinkSync(worktree);
    else if (info) {
      // Already back (a restarted runner's recovery moved it): nothing to do.
      if (!existsSync(inside)) return;
      throw new SandboxError('SANDBOX_BROKEN', `cannot move the worktree back: ${worktree} exists and is not the sandbox's symlink`, false);
    }
    if (existsSync(inside)) renameSync(inside, worktree);
  }

  /** Removes the slot and whatever a command left in it beside the worktree. */
  discard(slot: Slot): void {
    rmSync(slot.dir, { recursive: true, force: true });
  }

  /**
   * After a crash: every symlink in `worktreesDir` that points into a slot is replaced by the
   * worktree it points to, then all slots are removed. Returns the worktrees moved back.
   */
  recover(worktreesDir: string): string[] {
    const moved: string[] = [];
    if (existsSync(worktreesDir)) {
      for (const name of readdirSync(worktreesDir)) {
        const link = join(worktreesDir, name);
        if (!lstatSync(link).isSymbolicLink()) continue;
        const raw = readlinkSync(link);
        const target = isAbsolute(raw) ? raw : resolve(dirname(link), raw);
        const rel = relative(this.root, target);
        if (rel.startsWith('..') || isAbsolute(rel) || !rel.split(sep)[0]) continue;
        unlinkSync(link);
        if (existsSync(target)) {
          renameSync(target, link);
          moved.push(link);
        }
      }
    }
    // Retried: a container being removed at the same moment may still be writing into its slot.
    rmSync(this.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    mkdirSync(this.root, { recursive: true });
    return moved;
  }
}
