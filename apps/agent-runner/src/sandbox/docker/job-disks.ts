import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { AgentRunnerConfig, sandboxOwnerOf } from '../../agent-runner.config.js';
import { EngineDiskMounter, HostDiskMounter, type DiskMounter } from './disk-mounter.js';
import { DockerEngine } from './docker.engine.js';
import { cannotMount, wantsEngineTrial, worktreeBoundOf, WorktreeBoundKind, type MountAbility, type WorktreeBound } from './worktree-bound.js';

/** The trial mount's size: the smallest ext4 worth making. */
const TRIAL_MB = 8;

/** Nest token for a MountAbility other than the probed one (tests). */
export const MOUNT_ABILITY = 'agent-runner.mount-ability';

/** What this machine offers for a per-job file system. */
export function probeMountAbility(): Omit<MountAbility, 'engine'> {
  const onPath = (tool: string) => (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d && existsSync(join(d, tool)));
  return {
    root: process.geteuid?.() === 0,
    loopDevices: existsSync('/dev/loop-control'),
    tools: ['mkfs.ext4', 'mount', 'umount'].every(onPath),
  };
}

/** This process's uid:gid: the owner a new job file system's root is given (git creates the worktree in it). */
function processOwner(): string {
  return `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
}

/** A mount of this mount namespace: where, and from what. */
interface MountEntry {
  target: string;
  source: string;
}

/** A job file system's mount: its loop device's backing file as the kernel names it (the path in the namespace that mounted it). */
interface JobMount {
  target: string;
  backing: string;
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

/**
 * A file system per job for its worktree, so the kernel bounds what the job's commands write in
 * it (SANDBOX_WORKTREE_MB): a sparse image `WORK_DIR/sandbox/disks/<job>.img`, formatted ext4 and
 * loop-mounted at the worktree's path before git creates the worktree there (DISK_SCRIPT). A
 * write past the size fails with ENOSPC; the host never holds more than the image's size. A root
 * runner mounts it itself; one that is not root asks the engine (a helper container), when a
 * trial mount at init() shows the runner sees what the engine mounts. Otherwise `bound` says
 * Measured, mountAt does nothing and the runner measures the worktree (WorktreeDiskWatch).
 */
@Injectable()
export class JobDisks {
  readonly imagesDir: string;
  private readonly worktreesDir: string;
  private readonly host: Omit<MountAbility, 'engine'>;
  private readonly mounter?: DiskMounter;
  private decided: WorktreeBound;
  private initialized?: Promise<WorktreeBound>;

  constructor(
    private readonly config: AgentRunnerConfig,
    @Optional() engine?: DockerEngine,
    @Optional() @Inject(MOUNT_ABILITY) ability: Omit<MountAbility, 'engine'> = probeMountAbility(),
  ) {
    const root = resolve(config.WORK_DIR);
    this.imagesDir = join(root, 'sandbox', 'disks');
    this.worktreesDir = join(root, 'worktrees');
    this.host = ability;
    if (cannotMount(ability) === undefined) this.mounter = new HostDiskMounter();
    else if (engine) this.mounter = new EngineDiskMounter(engine, config.SANDBOX_IMAGE, sandboxOwnerOf(config), root, config.SANDBOX_HOST_WORK_DIR ?? root);
    // Before init(): what is known without trying the engine.
    this.decided = wantsEngineTrial({ ...this.input(), ability })
      ? { kind: WorktreeBoundKind.Measured, limitMb: config.SANDBOX_WORKTREE_MB, reason: 'not decided yet (a trial mount through the engine comes first)' }
      : worktreeBoundOf({ ...this.input(), ability });
  }

  /** How the worktree total is bounded (final once init() resolved). */
  get bound(): WorktreeBound {
    return this.decided;
  }

  /** Decides the bound once: with a trial mount through the engine when the runner cannot mount itself. */
  init(): Promise<WorktreeBound> {
    this.initialized ??= (async () => {
      if (!wantsEngineTrial({ ...this.input(), ability: this.host })) return this.decided;
      const engine = this.mounter?.via === 'engine' ? await this.tryEngine() : { ok: false as const, why: 'no Docker engine' };
      this.decided = worktreeBoundOf({ ...this.input(), ability: { ...this.host, engine } });
      return this.decided;
    })();
    return this.initialized;
  }

  /** The image of the worktree at `dir` (a worktree's name is its job id, checked by WorkspaceService). */
  imageOf(dir: string): string {
    return join(this.imagesDir, `${basename(dir)}.img`);
  }

  /** `dir` is a job file system's mount point right now. */
  isMounted(dir: string): boolean {
    const target = resolve(dir);
    return this.jobMounts(dirname(target)).some((m) => m.target === target);
  }

  /**
   * Makes the job's file system and mounts it at `dir`, leaving an empty directory (the runner's
   * own) for git to create the worktree in. Returns false (and does nothing) unless the bound is FileSystem.
   */
  async mountAt(dir: string): Promise<boolean> {
    const bound = await this.init();
    if (bound.kind !== WorktreeBoundKind.FileSystem || !this.mounter) return false;
    await this.release(dir);
    mkdirSync(this.imagesDir, { recursive: true, mode: 0o700 });
    const image = this.imageOf(dir);
    try {
      await this.mounter.run(['make', image, String(bound.limitMb), resolve(dir), processOwner()]);
      if (!this.isMounted(dir)) throw new Error(`the job file system was mounted at ${dir} but this process does not see it (mount propagation)`);
    } catch (e) {
      await this.release(dir).catch(() => undefined);
      throw e;
    }
    return true;
  }

  /** Unmounts the job's file system at `dir` (what it holds goes with it) and removes its image; false when there was none. */
  async release(dir: string): Promise<boolean> {
    const mounted = this.isMounted(dir);
    if (mounted && this.mounter) await this.mounter.run(['unmount', resolve(dir)]);
    const image = this.imageOf(dir);
    const hadImage = existsSync(image);
    rmSync(image, { force: true });
    return mounted || hadImage;
  }

  /** Unmounts every job file system under worktrees/ and removes every image (a test's or an operator's clean slate); returns the mount points. */
  async releaseAll(): Promise<string[]> {
    const released = this.jobMounts(this.worktreesDir).map((m) => m.target);
    for (const target of released) await this.release(target);
    rmSync(this.imagesDir, { recursive: true, force: true });
    return released;
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
    for (const { target, backing } of this.jobMounts(this.worktreesDir)) {
      if (!backing.endsWith(' (deleted)') && existsSync(this.imageOf(target))) mounted.add(this.imageOf(target));
      else if (this.mounter) {
        await this.mounter.run(['unmount', target]);
        reaped.push(target);
      }
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

  /**
   * Loop mounts directly under `parent` whose backing file is named after their mount point
   * (`<job>.img`): the kernel names it as the namespace that mounted it sees it, which for a
   * mount made through the engine is not this process's path, so the name is what is compared.
   */
  private jobMounts(parent: string): JobMount[] {
    const found: JobMount[] = [];
    for (const m of mounts()) {
      if (dirname(m.target) !== parent) continue;
      const backing = loopBackingFile(m.source);
      if (backing && basename(backing.replace(/ \(deleted\)$/, '')) === `${basename(m.target)}.img`) found.push({ target: m.target, backing });
    }
    return found;
  }

  /** A trial mount through the engine, at WORK_DIR/sandbox/disk-trial: made, seen by this process, removed. */
  private async tryEngine(): Promise<{ ok: true } | { ok: false; why: string }> {
    const dir = join(dirname(this.imagesDir), 'disk-trial');
    const image = join(dirname(this.imagesDir), 'disk-trial.img');
    try {
      await this.mounter!.run(['make', image, String(TRIAL_MB), dir, processOwner()]);
      const seen = mounts().some((m) => m.target === resolve(dir));
      await this.mounter!.run(['unmount', dir]);
      if (!seen) return { ok: false, why: 'the runner does not see what the engine mounts: WORK_DIR needs shared mount propagation between the two' };
      return { ok: true };
    } catch (e) {
      return { ok: false, why: (e as Error).message.slice(0, 500) };
    } finally {
      rmSync(image, { force: true });
      // rmdir, never a recursive removal: a mount that did not go stays, and says so next time.
      if (existsSync(dir)) rmdirSync(dir);
    }
  }

  private input(): { limitMb: number; mode: 'auto' | 'loop' | 'off' } {
    return { limitMb: this.config.SANDBOX_WORKTREE_MB, mode: this.config.SANDBOX_WORKTREE_FS ?? 'auto' };
  }
}
