import { randomUUID } from 'node:crypto';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig, sandboxOwnerOf } from '../../agent-runner.config.js';
import { Sandbox, SandboxError, type SandboxExecOptions, type SandboxOpenOptions, type SandboxResult, type SandboxSession } from '../sandbox.js';
import { SandboxImages } from '../sandbox-images.js';
import { ContainerReaper } from './container-reaper.js';
import {
  containerName,
  LABELS,
  SANDBOX_WORKDIR,
  SERVER_NODE_LABEL,
  serverNodeOf,
  SLOT_MOUNT,
  type ContainerSpecInput,
  type SandboxLimits,
} from './container-spec.js';
import { StepFailure } from '../../steps/step-failure.js';
import { DockerEngine } from './docker.engine.js';
import { SandboxContainer } from './sandbox-container.js';
import { SlotDirectories, type Slot } from './slot-directories.js';
import { WarmPool } from './warm-pool.js';
import { tracedSession } from '../sandbox-spans.js';
import { DiskUsage, WorktreeDiskWatch } from './worktree-disk-watch.js';
import { WorktreeOwner, type SandboxUser } from '../worktree-owner.js';

/** A container with the slot it mounts: the unit the pool keeps and a session holds. */
class SlottedContainer {
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

/**
 * The Docker backend: a hardened container per job session (see container-spec.ts), taken from
 * a warm pool when one is ready, its command server running the commands (command.server.ts).
 * Containers are labelled with this runner's owner name and incarnation; at start-up the reaper
 * removes what an earlier life left behind and stranded worktrees move back from their slots.
 */
@Injectable()
export class DockerSandbox extends Sandbox implements OnModuleInit, OnApplicationShutdown {
  readonly kind = 'docker' as const;
  readonly owner: string;
  readonly incarnation = randomUUID().slice(0, 8);
  private readonly limits: SandboxLimits;
  private readonly pools = new Map<string, WarmPool<SlottedContainer>>();
  private readonly sessions = new Set<DockerSession>();
  /** Per image, the command server's unreadable node (undefined: the image has none). */
  private readonly serverNodes = new Map<string, string | undefined>();
  private readonly worktreesDir: string;
  private closing = false;
  private seq = 0;

  constructor(
    private readonly config: AgentRunnerConfig,
    private readonly engine: DockerEngine,
    private readonly slots: SlotDirectories,
    private readonly images: SandboxImages,
    private readonly owners: WorktreeOwner,
    private readonly reaper: ContainerReaper,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    private readonly disk: DiskUsage = new DiskUsage(),
  ) {
    super();
    this.owner = sandboxOwnerOf(config);
    this.worktreesDir = join(resolve(config.WORK_DIR), 'worktrees');
    // Pooled containers serve the agent phase: no network, ever.
    this.limits = {
      memoryMb: config.SANDBOX_MEMORY_MB,
      diskMb: config.SANDBOX_DISK_MB,
      cpus: config.SANDBOX_CPUS,
      pids: config.SANDBOX_PIDS,
      tmpMb: config.SANDBOX_TMP_MB,
      network: 'none',
    };
  }

  /** Orphans of an earlier life go first, then worktrees stranded in slots come back, then the pool warms up. */
  async onModuleInit(): Promise<void> {
    this.logger.info(
      { diskPerFileMb: this.config.SANDBOX_DISK_MB, tmpMb: this.config.SANDBOX_TMP_MB, worktreeMb: this.config.SANDBOX_WORKTREE_MB },
      `sandbox disk limit: every file a command writes (the worktree included) stops at ${this.config.SANDBOX_DISK_MB} MB (ulimit fsize, enforced by the kernel; the step fails with SANDBOX_DISK_LIMIT), /tmp at ${this.config.SANDBOX_TMP_MB} MB (tmpfs); the worktree's total ${this.config.SANDBOX_WORKTREE_MB > 0 ? `at ${this.config.SANDBOX_WORKTREE_MB} MB, measured every ${this.config.SANDBOX_DISK_CHECK_MS} ms while a command runs (SANDBOX_WORKTREE_MB; the runner stops the command, no kernel quota here)` : 'is not capped (SANDBOX_WORKTREE_MB=0)'}`,
    );
    await this.reaper.reap(this.owner);
    const moved = this.slots.recover(this.worktreesDir, (worktree, reason) =>
      this.logger.warn({ worktree, reason }, 'worktree of a crashed run not moved back from its slot'),
    );
    if (moved.length > 0) this.logger.info({ worktrees: moved }, 'worktrees moved back from the slots of a crashed run');
    if (this.config.SANDBOX_POOL_SIZE > 0) for (const image of this.images.allImages()) this.poolFor(image, this.owners.expectedUser()).fill();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.sessions].map((s) => s.close().catch((err: unknown) => this.logger.warn({ err, jobId: s.jobId }, 'sandbox session not closed cleanly'))),
    );
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    await this.reaper.reap(this.owner).catch((err: unknown) => this.logger.warn({ err }, 'sandbox reaper failed at shutdown'));
  }

  /** Warm containers ready and starting over every pool, and sessions open (jobs' sandboxes): the pool's metrics. */
  stats(): { ready: number; starting: number; sessions: number } {
    const pools = [...this.pools.values()];
    return { ready: pools.reduce((n, p) => n + p.readyCount, 0), starting: pools.reduce((n, p) => n + p.startingCount, 0), sessions: this.sessions.size };
  }

  /** The pool of an image for a user (for tests and the benchmark: how many are ready). */
  poolFor(image: string, user: SandboxUser): WarmPool<SlottedContainer> {
    const key = `${image}|${user.uid}:${user.gid}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new WarmPool<SlottedContainer>({
        size: this.config.SANDBOX_POOL_SIZE,
        start: () => this.startContainer(image, user, 'pool'),
        onError: (err) => this.logger.warn({ err, image }, 'warm sandbox container not started'),
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Every container mounts the job's worktree at the same place. */
  workdirFor(): string {
    return SANDBOX_WORKDIR;
  }

  async closeJob(jobId: string): Promise<number> {
    this.markEnded(jobId);
    const mine = [...this.sessions].filter((s) => s.jobId === jobId);
    // Killed first: close() waits for the running command, which the kill ends at once.
    await Promise.all(mine.map((s) => s.abort()));
    await Promise.all(
      mine.map((s) => s.close().catch((err: unknown) => this.logger.warn({ err, jobId }, 'sandbox session of a cancelled job not closed cleanly'))),
    );
    return mine.length;
  }

  async open(options: SandboxOpenOptions): Promise<SandboxSession> {
    if (this.closing) throw new SandboxError('SANDBOX_UNAVAILABLE', 'the runner is shutting down');
    const image = this.images.imageFor(options.repo);
    const user = this.owners.prepare(options.workspace);
    const limits = this.limitsFor(options);
    const binds = (options.mounts ?? []).map((m) => ({ hostPath: this.enginePathOf(m.hostPath), target: m.target, readOnly: m.readOnly }));
    // Warm containers have the default limits and no extra mounts: anything else starts its own.
    const poolable = this.config.SANDBOX_POOL_SIZE > 0 && sameLimits(limits, this.limits) && binds.length === 0;
    const warm = poolable ? this.poolFor(image, user).take() : undefined;
    const held = warm ?? (await this.startContainer(image, user, options.jobId, limits, binds));
    try {
      this.slots.moveIn(held.slot, options.workspace);
    } catch (e) {
      void held.shutdown().catch(() => undefined);
      throw e;
    }
    if (warm) void warm.container.rename(this.nameFor(options.jobId));
    const session = new DockerSession(options.jobId, options.workspace, held, {
      replace: () => this.startContainer(image, user, options.jobId, limits, binds),
      slots: this.slots,
      defaultMaxOutput: this.config.TEST_OUTPUT_MAX_BYTES,
      diskMb: this.config.SANDBOX_DISK_MB,
      ...(this.config.SANDBOX_WORKTREE_MB > 0
        ? { worktree: { usage: this.disk, limitMb: this.config.SANDBOX_WORKTREE_MB, intervalMs: this.config.SANDBOX_DISK_CHECK_MS } }
        : {}),
      closed: (s) => this.sessions.delete(s),
    });
    tracedSession(session, options.phase ?? 'agent');
    this.sessions.add(session);
    try {
      this.refuseEnded(options.jobId);
    } catch (e) {
      await session.close();
      throw e;
    }
    this.logger.debug({ jobId: options.jobId, container: held.container.name, image, warm: !!warm }, 'sandbox session opened');
    return session;
  }

  private nameFor(purpose: string): string {
    this.seq += 1;
    return containerName('agency-sbx', this.owner, purpose, this.incarnation, String(this.seq));
  }

  /** A path under WORK_DIR as the engine sees it (SANDBOX_HOST_WORK_DIR when the runner runs in a container). */
  private enginePathOf(path: string): string {
    const host = this.config.SANDBOX_HOST_WORK_DIR;
    const rel = relative(resolve(this.config.WORK_DIR), resolve(path));
    if (rel.startsWith('..') || isAbsolute(rel)) throw new SandboxError('SANDBOX_BROKEN', `a sandbox mount must be under WORK_DIR, got ${path}`, false);
    return host ? join(host, rel) : resolve(path);
  }

  /**
   * The runner's limits with the tier's overrides. The agent phase never has a network; the
   * environment phase (setup, cache restore) has the one its caller chose.
   */
  private limitsFor(options: SandboxOpenOptions): SandboxLimits {
    const o = options.limits ?? {};
    return {
      ...this.limits,
      network: options.phase === 'environment' ? (options.network ?? 'none') : 'none',
      ...(o.memoryMb !== undefined ? { memoryMb: o.memoryMb } : {}),
      ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
      ...(o.pids !== undefined ? { pids: o.pids } : {}),
    };
  }

  /**
   * The node the image names for its command server: a copy the agent's user can run but not
   * read, so the server is not dumpable and the commands (the same user) can neither ptrace it
   * nor read its memory. An image without one runs plain node, and the runner says so once.
   */
  private async serverNodeFor(image: string): Promise<string | undefined> {
    if (this.serverNodes.has(image)) return this.serverNodes.get(image);
    const labels = await this.engine.imageLabels(image).catch(() => undefined);
    // A missing image is looked up again next time; starting the container says it is missing.
    if (labels === undefined) return undefined;
    const node = serverNodeOf(labels);
    if (!node) {
      this.logger.warn(
        { image },
        `sandbox image ${image} has no ${SERVER_NODE_LABEL} label: its command server runs as plain node, which the agent's commands (the same user) could ptrace; build the image FROM localhost/agency/sandbox or add the label (deploy/images/sandbox.Dockerfile)`,
      );
    }
    this.serverNodes.set(image, node);
    return node;
  }

  private async startContainer(
    image: string,
    user: SandboxUser,
    purpose: string,
    limits: SandboxLimits = this.limits,
    extraBinds: ContainerSpecInput['extraBinds'] = [],
  ): Promise<SlottedContainer> {
    const slot = this.slots.create();
    try {
      const serverNode = await this.serverNodeFor(image);
      const container = await SandboxContainer.start(this.engine, {
        image,
        ...(serverNode ? { serverNode } : {}),
        name: this.nameFor(purpose),
        slotDir: slot.dir,
        slotHostDir: slot.hostDir,
        user,
        limits,
        labels: { [LABELS.sandbox]: 'true', [LABELS.owner]: this.owner, [LABELS.incarnation]: this.incarnation, [LABELS.slot]: slot.id },
        extraBinds,
      });
      return new SlottedContainer(container, slot, this.slots);
    } catch (e) {
      this.slots.discard(slot);
      throw e;
    }
  }
}

function sameLimits(a: SandboxLimits, b: SandboxLimits): boolean {
  return a.diskMb === b.diskMb && a.memoryMb === b.memoryMb && a.cpus === b.cpus && a.pids === b.pids && a.tmpMb === b.tmpMb && a.network === b.network;
}

interface SessionDeps {
  replace: () => Promise<SlottedContainer>;
  slots: SlotDirectories;
  defaultMaxOutput: number;
  diskMb?: number;
  /** The worktree's total (SANDBOX_WORKTREE_MB), measured while each command runs. */
  worktree?: { usage: DiskUsage; limitMb: number; intervalMs: number };
  closed: (session: DockerSession) => void;
}

/** A job's hold on a container; a container that died (a command killed its server) is replaced before the next command. */
class DockerSession implements SandboxSession {
  readonly workdir = SANDBOX_WORKDIR;
  private closedPromise?: Promise<void>;
  private queue: Promise<unknown> = Promise.resolve();
  private aborted = false;
  /** The worktree's size when the last command ended: a command may not grow it past the limit, or past this when already over. */
  private lastKb = 0;

  constructor(
    readonly jobId: string,
    private readonly workspace: string,
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
    return result;
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
          this.deps.slots.moveOut(this.held.slot, this.workspace);
        } finally {
          this.deps.slots.discard(this.held.slot);
          this.deps.closed(this);
        }
      }
    });
    return this.closedPromise;
  }
}
