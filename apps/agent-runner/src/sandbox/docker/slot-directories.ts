import { randomUUID } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgentRunnerConfig } from '../../agent-runner.config.js';
import { kindOf } from '../../files/dir-handle.js';
import { WorkspaceTamperedError } from '../../files/path-errors.js';
import { giveOwnerAccess, removeTree } from '../../files/tree-removal.js';
import { SandboxError } from '../sandbox.js';
import { REPO_DIR } from './container-spec.js';

export interface Slot {
  id: string;
  /** The slot as this process sees it. */
  dir: string;
  /** The slot as the Docker engine sees it (differs when the runner itself runs in a container). */
  hostDir: string;
}

/** Where the slots of a runner with this WORK_DIR are. */
export function slotsRootOf(workDir: string): string {
  return join(resolve(workDir), 'sandbox', 'slots');
}

/** Which worktree went into a slot, and its identity then: only that directory may come back out. */
interface Claim {
  worktree: string;
  dev: number;
  ino: number;
}

/** Why `entry` (what is at the slot's repo/ now) is not the claimed worktree; undefined when it is. */
function wrongEntry(entry: Stats | undefined, claim: Claim, readLink: () => string): string | undefined {
  if (!entry) return 'a command removed or moved /workspace/repo';
  if (entry.isSymbolicLink()) return `a command replaced /workspace/repo with a symlink (to ${readLink()})`;
  if (!entry.isDirectory()) return `a command replaced /workspace/repo with ${kindOf(entry)}`;
  if (entry.dev !== claim.dev || entry.ino !== claim.ino) return 'a command moved the worktree away and put another directory in its place';
  return undefined;
}

/**
 * rename(2) of a directory to another parent needs write permission on the directory itself;
 * a command may have taken it away (chmod 555 or 000 /workspace/repo). The runner owns the
 * worktree (or is root), so it gives it back without following a link and tries once more.
 */
function renameOwnDir(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    giveOwnerAccess(from);
    renameSync(from, to);
  }
}

/** The slot is the container's /workspace: the command's user may have locked it (chmod 000 /workspace). */
function unlockSlot(dir: string): void {
  if (lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) giveOwnerAccess(dir);
}

/**
 * Slot directories: each sandbox container mounts one empty slot at /workspace, so a warm
 * container can exist before any job. A job's worktree moves into its container's slot for the
 * length of a session (a rename: same file system, O(1)) and a symlink stands in at its usual
 * place. A container only ever sees its own slot, so no job sees another job's files.
 *
 * A command can rename, remove or replace `/workspace/repo` (when the sandbox user owns the
 * slot, as with a non-root runner). So every move-in records a claim (`sandbox/claims/<slot>`:
 * the worktree and its dev/ino, outside any slot), and only that very directory ever moves back
 * into worktrees/; a link, a file or another directory in its place fails the step
 * (WorkspaceTamperedError) and goes away with the slot. After a crash, recover() does the same
 * from the claims on disk.
 */
@Injectable()
export class SlotDirectories {
  readonly root: string;
  private readonly claimsDir: string;
  private readonly hostRoot: string;

  constructor(config: AgentRunnerConfig) {
    this.root = slotsRootOf(config.WORK_DIR);
    this.claimsDir = join(dirname(this.root), 'claims');
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
    if (info.isSymbolicLink())
      throw new SandboxError('SANDBOX_BUSY', `workspace ${worktree} is already in a sandbox (another step of the same job is running)`);
    if (!info.isDirectory()) throw new SandboxError('SANDBOX_BROKEN', `workspace ${worktree} is not a directory`, false);
    const inside = join(slot.dir, REPO_DIR);
    // Written before the rename: a crash right after it still knows what may come back.
    this.writeClaim(slot.id, { worktree, dev: info.dev, ino: info.ino });
    try {
      renameSync(worktree, inside);
    } catch (e) {
      this.dropClaim(slot.id);
      if ((e as NodeJS.ErrnoException).code === 'EXDEV') {
        throw new SandboxError(
          'SANDBOX_BROKEN',
          `workspace ${worktree} is not on the file system of WORK_DIR (${this.root}); the Docker sandbox moves worktrees into its slots and needs both on one file system`,
          false,
        );
      }
      throw e;
    }
    try {
      symlinkSync(inside, worktree, 'dir');
    } catch (e) {
      renameSync(inside, worktree);
      this.dropClaim(slot.id);
      throw e;
    }
  }

  /**
   * Puts the worktree back at its usual path; call it only once nothing runs in the slot (the
   * container is gone). Throws WorkspaceTamperedError, leaving nothing at the usual path, when
   * what is at the slot's repo/ is not the directory that went in.
   */
  moveOut(slot: Slot, worktree: string): void {
    const inside = join(slot.dir, REPO_DIR);
    unlockSlot(slot.dir);
    const info = lstatSync(worktree, { throwIfNoEntry: false });
    if (info && !info.isSymbolicLink()) {
      // Already back (a restarted runner's recovery moved it): nothing to do.
      if (!lstatSync(inside, { throwIfNoEntry: false })) return this.dropClaim(slot.id);
      throw new SandboxError('SANDBOX_BROKEN', `cannot move the worktree back: ${worktree} exists and is not the sandbox's symlink`, false);
    }
    const claim = this.readClaim(slot.id);
    if (info) unlinkSync(worktree);
    // Neither link nor claim: an earlier moveOut of this slot dealt with it (and said so).
    if (!claim && !info) return;
    if (!claim || claim.worktree !== worktree)
      throw new SandboxError('SANDBOX_BROKEN', `cannot move the worktree back: slot ${slot.id} has no record of holding ${worktree}`, false);
    try {
      this.bringBack(inside, claim);
    } finally {
      this.dropClaim(slot.id);
    }
  }

  /** Removes the slot and whatever a command left in it beside the worktree (links are removed, never followed; locked directories opened up). */
  discard(slot: Slot): void {
    removeTree(slot.dir);
    this.dropClaim(slot.id);
  }

  /**
   * After a crash: every symlink in `worktreesDir` that points into a slot is replaced by the
   * worktree its claim names, when that very directory is still there; otherwise the link is
   * removed (`onRefused` says why) and the job's next step rebuilds its worktree. Then all slots
   * and claims are removed. Returns the worktrees moved back.
   */
  recover(worktreesDir: string, onRefused: (worktree: string, reason: string) => void = () => undefined): string[] {
    const moved: string[] = [];
    for (const name of lstatSync(worktreesDir, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(worktreesDir) : []) {
      const link = join(worktreesDir, name);
      if (!lstatSync(link).isSymbolicLink()) continue;
      const parts = relative(this.root, resolve(worktreesDir, readlinkSync(link))).split(sep);
      if (parts.length !== 2 || parts[1] !== REPO_DIR || parts[0] === '..' || !parts[0]) continue;
      unlinkSync(link);
      const claim = this.readClaim(parts[0]);
      try {
        if (!claim || claim.worktree !== link) throw new WorkspaceTamperedError(`slot ${parts[0]} has no record of holding ${link}`);
        unlockSlot(join(this.root, parts[0]));
        this.bringBack(join(this.root, parts[0], REPO_DIR), claim);
        moved.push(link);
      } catch (e) {
        if (!(e instanceof WorkspaceTamperedError)) throw e;
        onRefused(link, e.message);
      }
    }
    // Retried: a container being removed at the same moment may still be writing into its slot.
    removeTree(this.root, { maxRetries: 10, retryDelay: 100 });
    rmSync(this.claimsDir, { recursive: true, force: true });
    mkdirSync(this.root, { recursive: true });
    return moved;
  }

  /**
   * Renames the slot's repo/ back to the claimed worktree path, checked before (for a clear
   * message) and after (what was renamed is what arrived, whatever raced): anything but the
   * claimed directory goes back into the slot, to be deleted with it.
   */
  private bringBack(inside: string, claim: Claim): void {
    const fail = (problem: string) =>
      new WorkspaceTamperedError(`the job's worktree was not moved back from its sandbox: ${problem}; it is dropped with the sandbox slot`);
    const before = wrongEntry(lstatSync(inside, { throwIfNoEntry: false }), claim, () => readlinkSync(inside));
    if (before) throw fail(before);
    renameOwnDir(inside, claim.worktree);
    const after = wrongEntry(lstatSync(claim.worktree, { throwIfNoEntry: false }), claim, () => readlinkSync(claim.worktree));
    if (after) {
      renameSync(claim.worktree, join(dirname(inside), `rejected-${randomUUID().slice(0, 8)}`));
      throw fail(after);
    }
  }

  private claimFile(slotId: string): string {
    return join(this.claimsDir, `${slotId}.json`);
  }

  private writeClaim(slotId: string, claim: Claim): void {
    mkdirSync(this.claimsDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.claimFile(slotId)}.tmp`;
    writeFileSync(tmp, JSON.stringify(claim));
    renameSync(tmp, this.claimFile(slotId));
  }

  private readClaim(slotId: string): Claim | undefined {
    try {
      return JSON.parse(readFileSync(this.claimFile(slotId), 'utf8')) as Claim;
    } catch {
      return undefined;
    }
  }

  private dropClaim(slotId: string): void {
    rmSync(this.claimFile(slotId), { force: true });
  }
}
