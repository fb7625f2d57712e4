import { SANDBOX_WORKDIR, SLOT_MOUNT } from './container-spec.js';
import { StepFailure } from '../../steps/step-failure.js';
import { SandboxError, type SandboxExecOptions, type SandboxResult, type SandboxSession } from '../sandbox.js';
import type { SandboxContainer } from './sandbox-container.js';
import type { SlotDirectories, Slot } from './slot-directories.js';
import { WorktreeDiskWatch, type DiskUsage } from './worktree-disk-watch.js';

/** A container with the slot it mounts: the unit the pool keeps and a session holds. */
export class SlottedContainer {
  constructor(
    readonly container: SandboxContainer,
    readonly slot: Slot,
    private readonly slots: SlotDirectories,
  ) {}
  get isGone(): boolean {
    return this.container.isGone;
  }
  onGone(listener: (e: Error) => void): void {
    this.container.onGone(listener);
  }
  async shutdown(): Promise<void> {
    try {
      await this.container.shutdown();
    } finally {
      this.slots.discard(this.slot);
    }
  }
}

export interface SessionDeps {
  replace: () => Promise<SlottedContainer>;
  slots: SlotDirectories;
  defaultMaxOutput: number;
  diskMb?: number;
  /** The worktree's total (SANDBOX_WORKTREE_MB), measured while each command runs (no kernel bound for this worktree). */
  worktree?: { usage: DiskUsage; limitMb: number; intervalMs: number };
  /**
   * The worktree is its own file system of this many MB, bound into the container where it is:
   * the kernel bounds it, and it never moves into the slot.
   */
  ownFileSystemMb?: number;
  tmpMb?: number;
  closed: (session: DockerSession) => void;
}

/** A job's hold on a container; a container that died (a command killed its server) is replaced before the next command. */
export class DockerSession implements SandboxSession {
  readonly workdir = SANDBOX_WORKDIR;
  private closedPromise?: Promise<void>;
  private queue: Promise<unknown> = Promise.resolve();
  private aborted = false;
  /** The worktree's size when the last command ended: a command may not grow it past the limit, or past this when already over. */
  private lastKb = 0;

  constructor(
    readonly jobId: string,
    readonly workspace: string,
    private held: SlottedContainer,
    private readonly deps: SessionDeps,
  ) {}

  exec(options: SandboxExecOptions): Promise<SandboxResult> {
    const run = this.queue.then(() => this.execNow(options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async execNow(options: SandboxExecOptions): Promise<SandboxResult> {
    if (this.closedPromise || this.aborted) throw new SandboxError('SANDBOX_BROKEN', `the sandbox session of job ${this.jobId} is closed`, false);
    if (this.held.isGone) await this.replaceContainer();
    const held = this.held;
    const limit = this.deps.worktree;
    // Past the worktree's limit the container is killed: the command ends, the next one gets a fresh container.
    const watch =
      limit &&
      new WorktreeDiskWatch(
        limit.usage,
        held.slot.dir,
        Math.max(limit.limitMb * 1024, this.lastKb),
        limit.intervalMs,
        () => void held.container.kill(),
      ).start();
    let result: SandboxResult | undefined;
    let error: unknown;
    try {
      result = await held.container.exec(options, this.deps.defaultMaxOutput);
    } catch (e) {
      error = e;
    }
    const reading = await watch?.stop();
    if (reading) this.lastKb = reading.kb;
    if (limit && reading?.over) throw this.worktreeLimitFailure(options.command, limit.limitMb, reading.kb, result?.output ?? '');
    if (error !== undefined || !result) throw error;
    if (result.diskLimitHit) throw await this.diskLimitFailure(options.command, result.output);
    if (result.diskFull) {
      // ENOSPC in a failed command's output is a full disk only when df agrees: a repository's own
      // tests may print it (a file-system library's), and that is a failing test, not a step failure.
      const failure = await this.diskFullFailure(options.command, result.output);
      if (failure) throw failure;
    }
    return result;
  }

  /**
   * The step fails when a write found no space and the worktree or /tmp is full now (df, inside
   * the sandbox): the message names the bounds and what each holds. Undefined when neither is
   * full (a command that printed ENOSPC for another reason, or freed its space before it ended).
   */
  private async diskFullFailure(command: string, output: string): Promise<StepFailure | undefined> {
    let rows: DfRow[];
    try {
      const df = await this.held.container.exec({ command: `df -Pk ${SANDBOX_WORKDIR} /tmp 2>/dev/null`, timeoutMs: 30_000 }, 4096);
      rows = parseDf(df.output);
    } catch {
      return undefined;
    }
    if (!rows.some(isFull)) return undefined;
    const usage = ` Now ${rows.map((r) => `${r.mount}: ${(r.usedKb / 1024).toFixed(1)} of ${(r.sizeKb / 1024).toFixed(1)} MB used`).join(', ')}.`;
    const worktree = this.deps.ownFileSystemMb
      ? `the worktree holds at most ${this.deps.ownFileSystemMb} MB (SANDBOX_WORKTREE_MB, its own file system: the kernel refuses a write past it)`
      : 'the worktree has no file system of its own';
    const tmp = this.deps.tmpMb ? `/tmp at most ${this.deps.tmpMb} MB (SANDBOX_TMP_MB)` : '/tmp is bounded';
    const tail = output.length > 2000 ? `…${output.slice(-2000)}` : output;
    return new StepFailure(
      'SANDBOX_DISK_LIMIT',
      `a command in the sandbox of job ${this.jobId} hit the disk limit: a write found no space left (ENOSPC); ${worktree}, ${tmp} (\`${command.slice(0, 200)}\`).${usage}\n${tail}`,
      false,
    );
  }

  private worktreeLimitFailure(command: string, limitMb: number, kb: number, output: string): StepFailure {
    const tail = output.length > 2000 ? `…${output.slice(-2000)}` : output;
    return new StepFailure(
      'SANDBOX_DISK_LIMIT',
      `a command in the sandbox of job ${this.jobId} made the worktree hold ${(kb / 1024).toFixed(1)} MB, past its limit of ${limitMb} MB (SANDBOX_WORKTREE_MB); the command was stopped (\`${command.slice(0, 200)}\`).\n${tail}`,
      false,
    );
  }

  /** The step fails when a command hits the disk limit; the message says how much the sandbox holds (measured inside it). */
  private async diskLimitFailure(command: string, output: string): Promise<StepFailure> {
    let usage = '';
    try {
      const du = await this.held.container.exec({ command: `du -sk ${SLOT_MOUNT} /tmp 2>/dev/null`, timeoutMs: 30_000 }, 4096);
      const kb = [...du.output.matchAll(/^(\d+)\s+(\S+)$/gm)].map((m) => `${m[2]}: ${(Number(m[1]) / 1024).toFixed(1)} MB`);
      if (kb.length > 0) usage = ` The sandbox now holds ${kb.join(', ')}.`;
    } catch {
      // The measure is for the message only.
    }
    const cap = this.deps.diskMb ? `${this.deps.diskMb} MB (SANDBOX_DISK_MB)` : 'the disk limit';
    const tail = output.length > 2000 ? `…${output.slice(-2000)}` : output;
    return new StepFailure(
      'SANDBOX_DISK_LIMIT',
      `a command in the sandbox of job ${this.jobId} hit the disk limit: a file may grow to at most ${cap}, and a write past it failed (\`${command.slice(0, 200)}\`).${usage}\n${tail}`,
      false,
    );
  }

  private async replaceContainer(): Promise<void> {
    const old = this.held;
    const next = await this.deps.replace();
    await old.container.shutdown().catch(() => undefined);
    if (this.deps.ownFileSystemMb) {
      this.deps.slots.discard(old.slot);
      this.held = next;
      return;
    }
    try {
      this.deps.slots.moveOut(old.slot, this.workspace);
    } catch (e) {
      // A tampered slot: the new container is not needed; this session is over.
      this.aborted = true;
      await next.shutdown().catch(() => undefined);
      throw e;
    } finally {
      this.deps.slots.discard(old.slot);
    }
    this.deps.slots.moveIn(next.slot, this.workspace);
    this.held = next;
  }

  /** Ends the running command now and refuses the next ones (a cancelled job). */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.held.container.kill();
  }

  close(): Promise<void> {
    this.closedPromise ??= this.queue.then(async () => {
      try {
        await this.held.container.shutdown();
      } finally {
        try {
          if (!this.deps.ownFileSystemMb) this.deps.slots.moveOut(this.held.slot, this.workspace);
        } finally {
          this.deps.slots.discard(this.held.slot);
          this.deps.closed(this);
        }
      }
    });
    return this.closedPromise;
  }
}

/** One file system as `df -Pk` lists it. */
export interface DfRow {
  sizeKb: number;
  usedKb: number;
  availableKb: number;
  mount: string;
}

export function parseDf(output: string): DfRow[] {
  return [...output.matchAll(/^\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+(\S+)$/gm)].map((m) => ({
    sizeKb: Number(m[1]),
    usedKb: Number(m[2]),
    availableKb: Number(m[3]),
    mount: m[4]!,
  }));
}

/** Full: less than 1 MB or 2 % left, what a write that found no space leaves (metadata and rounding keep a little free). */
export function isFull(row: DfRow): boolean {
  return row.availableKb < Math.max(1024, row.sizeKb * 0.02);
}
