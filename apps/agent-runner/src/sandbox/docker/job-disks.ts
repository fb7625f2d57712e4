import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { AgentRunnerConfig } from '../../agent-runner.config.js';
import { worktreeBoundOf, WorktreeBoundKind, type MountAbility, type WorktreeBound } from './worktree-bound.js';

/** Bytes per inode: node_modules trees are many small files; the image is sparse, so unused inode tables cost nothing on the host. */
const BYTES_PER_INODE = 8192;
const TOOL_TIMEOUT_MS = 60_000;

/** Nest token for a MountAbility other than the probed one (tests). */
export const MOUNT_ABILITY = 'agent-runner.mount-ability';

/** What this machine offers for a per-job file system. */
export function probeMountAbility(): MountAbility {
  const onPath = (tool: string) => (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d && existsSync(join(d, tool)));
  return {
    root: process.geteuid?.() === 0,
    loopDevices: existsSync('/dev/loop-control'),
    tools: ['mkfs.ext4', 'mount', 'umount'].every(onPath),
  };
}

/** A mount of this mount namespace: where, and from what. */
interface MountEntry {
  target: string;
  source: string;
}

/** The mounts of this process's namespace (/proc/self/mountinfo; `\040` and the like unescaped). */
function mounts(): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const dash = fields.indexOf('-');
      return { target: unescape(fields[4] ?? ''), source: unescape(fields[dash + 2] ?? '') };
    });
}

/** The file behind a loop device (/dev/loop3), as the kernel names it (" (deleted)" once removed); undefined for anything else. */
function loopBackingFile(source: string): string | undefined {
  const m = /^\/dev\/(loop\d+)$/.exec(source);
  if (!m) return undefined;
  try {
    return readFileSync(`/sys/block/${m[1]}/loop/backing_file`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }, timeout: TOOL_TIMEOUT_MS }, (err, _out, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`)) : resolvePromise(),
    );
  });
}

/**
 * A file system per job for its worktree, so the kernel bounds what the job's commands write in
 * it (SANDBOX_WORKTREE_MB): a sparse image under WORK_DIR/sandbox/disks, formatted ext4 and
 * loop-mounted at the worktree's path before git creates the worktree there. A write past the
 * size fails with ENOSPC; the host disk never holds more than the image's size. Only when
 * `bound` says FileSystem (the runner is root and has loop devices); otherwise every call is a
 * no-op and the runner measures the worktree instead (WorktreeDiskWatch).
 */
@Injectable()
export class JobDisks {
  readonly bound: WorktreeBound;
  readonly imagesDir: string;
  private readonly worktreesDir: string;

  constructor(config: AgentRunnerConfig, @Optional() @Inject(MOUNT_ABILITY) ability: MountAbility = probeMountAbility()) {
    const root = resolve(config.WORK_DIR);
    this.imagesDir = join(root, 'sandbox', 'disks');
    this.worktreesDir = join(root, 'worktrees');
    this.bound = worktreeBoundOf({ limitMb: config.SANDBOX_WORKTREE_MB, mode: config.SANDBOX_WORKTREE_FS ?? 'auto', ability });
  }

  get enforced(): boolean {
    return this.bound.kind === WorktreeBoundKind.FileSystem;
  }

  /** The image of the worktree at `dir` (a worktree's name is its job id, checked by WorkspaceService). */
  imageOf(dir: string): string {
    return join(this.imagesDir, `${basename(dir)}.img`);
  }

  /** `dir` is a job file system's mount point right now. */
  isMounted(dir: string): boolean {
    const target = resolve(dir);
    const image = this.imageOf(target);
    return mounts().some((m) => m.target === target && [image, `${image} (deleted)`].includes(loopBackingFile(m.source) ?? ''));
  }

  /**
   * Makes the job's file system and mounts it at `dir`, leaving an empty directory for git to
   * create the worktree in. Returns false (and does nothing) when the bound is not FileSystem.
   */
  async mountAt(dir: string): Promise<boolean> {
    if (this.bound.kind !== WorktreeBoundKind.FileSystem) return false;
    await this.release(dir);
    const image = this.imageOf(dir);
    mkdirSync(this.imagesDir, { recursive: true, mode: 0o700 });
    try {
      // Sparse: the host holds only what is written, never more than the size.
      writeFileSync(image, '', { mode: 0o600 });
      truncateSync(image, this.bound.limitMb * 1024 * 1024);
      await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-i', String(BYTES_PER_INODE), '-E', 'lazy_itable_init=1,nodiscard', image]);
      mkdirSync(dir, { recursive: true });
      // nosuid, nodev: nothing a command writes gains privileges; discard gives freed blocks back to the host.
      await run('mount', ['-t', 'ext4', '-o', 'loop,nosuid,nodev,noinit_itable,discard', image, dir]);
      rmdirSync(join(dir, 'lost+found'));
    } catch (e) {
      await this.release(dir).catch(() => undefined);
      rmSync(image, { force: true });
      throw e;
    }
    return true;
  }

  /** Unmounts the job's file system at `dir` (what it holds goes with it) and removes its image; false when there was none. */
  async release(dir: string): Promise<boolean> {
    const image = this.imageOf(dir);
    const mounted = this.isMounted(dir);
    if (mounted) {
      // Lazy when busy (a host process still in it): detached now, gone once the last user leaves.
      await run('umount', [resolve(dir)]).catch(() => run('umount', ['-l', resolve(dir)]));
    }
    const hadImage = existsSync(image);
    rmSync(image, { force: true });
    return mounted || hadImage;
  }

  /** Unmounts every job file system under worktrees/ and removes every image (a test's or an operator's clean slate); returns the mount points. */
  async releaseAll(): Promise<string[]> {
    const released = this.ours().map((m) => m.target);
    for (const target of released) await this.release(target);
    rmSync(this.imagesDir, { recursive: true, force: true });
    return released;
  }

  /** The mounts under worktrees/ backed by an image of this runner's (the image possibly removed already). */
  private ours(): Array<MountEntry & { backing: string }> {
    const found: Array<MountEntry & { backing: string }> = [];
    for (const m of mounts()) {
      const backing = loopBackingFile(m.source);
      if (m.target.startsWith(`${this.worktreesDir}/`) && backing?.startsWith(`${this.imagesDir}/`)) found.push({ ...m, backing });
    }
    return found;
  }

  /**
   * At boot: job file systems still mounted stay (their jobs go on after a restart; each is
   * released with its worktree). Images nothing mounts (the machine restarted) are removed, with
   * the empty directory their mount point left, so the job's next step rebuilds its worktree;
   * mounts under worktrees/ whose image was removed are unmounted. Returns what went.
   */
  async reap(): Promise<string[]> {
    const reaped: string[] = [];
    const mounted = new Set<string>();
    for (const { target, backing } of this.ours()) {
      if (backing.endsWith(' (deleted)') || !existsSync(backing)) {
        await run('umount', ['-l', target]);
        reaped.push(target);
      } else mounted.add(backing);
    }
    for (const name of existsSync(this.imagesDir) ? readdirSync(this.imagesDir) : []) {
      const image = join(this.imagesDir, name);
      if (mounted.has(image)) continue;
      rmSync(image, { force: true });
      reaped.push(image);
      const dir = join(this.worktreesDir, name.replace(/\.img$/, ''));
      if (lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() && readdirSync(dir).length === 0) rmdirSync(dir);
    }
    return reaped;
  }
}
