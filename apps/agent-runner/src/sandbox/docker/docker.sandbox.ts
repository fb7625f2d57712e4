import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig, sandboxOwnerOf } from '../../agent-runner.config.js';
import { Sandbox, SandboxError, type SandboxExecOptions, type SandboxOpenOptions, type SandboxResult, type SandboxSession } from '../sandbox.js';
import { SandboxImages } from '../sandbox-images.js';
import { ContainerReaper } from './container-reaper.js';
import { containerName, LABELS, SANDBOX_WORKDIR, type SandboxLimits } from './container-spec.js';
import { DockerEngine } from './docker.engine.js';
import { SandboxContainer } from './sandbox-container.js';
import { SlotDirectories, type Slot } from './slot-directories.js';
import { WarmPool } from './warm-pool.js';
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
  ) {
    super();
    this.owner = sandboxOwnerOf(config);
    this.worktreesDir = join(resolve(config.WORK_DIR), 'worktrees');
    this.limits = { memoryMb: config.SANDBOX_MEMORY_MB, cpus: config.SANDBOX_CPUS, pids: config.SANDBOX_PIDS, tmpMb: config.SANDBOX_TMP_MB, network: config.SANDBOX_NETWORK };
  }

  /** Orphans of an earlier life go first, then worktrees stranded in slots come back, then the pool warms up. */
  async onModuleInit(): Promise<void> {
    await this.reaper.reap(this.owner);
    const moved = this.slots.recover(this.worktreesDir);
    if (moved.length > 0) this.logger.info({ worktrees: moved }, 'worktrees moved back from the slots of a crashed run');
    if (this.config.SANDBOX_POOL_SIZE > 0) for (const image of this.images.allImages()) this.poolFor(image, this.owners.expectedUser()).fill();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.sessions].map((s) => s.close().catch((err: unknown) => this.logger.warn({ err, jobId: s.jobId }, 'sandbox session not closed cleanly'))));
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    await this.reaper.reap(this.owner).catch((err: unknown) => this.logger.warn({ err }, 'sandbox reaper failed at shutdown'));
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

  async closeJob(jobId: string): Promise<number> {
    const mine = [...this.sessions].filter((s) => s.jobId === jobId);
    // Killed first: close() waits for the running command, which the kill ends at once.
    await Promise.all(mine.map((s) => s.abort()));
    await Promise.all(mine.map((s) => s.close().catch((err: unknown) => this.logger.warn({ err, jobId }, 'sandbox session of a cancelled job not closed cleanly'))));
    return mine.length;
  }

  async open(options: SandboxOpenOptions): Promise<SandboxSession> {
    if (this.closing) throw new SandboxError('SANDBOX_UNAVAILABLE', 'the runner is shutting down');
    const image = this.images.imageFor(options.repo);
    const user = this.owners.prepare(options.workspace);
    const limits = this.limitsFor(options);
    // Warm containers have the default limits: a tier or repository that sets others starts its own.
    const poolable = this.config.SANDBOX_POOL_SIZE > 0 && sameLimits(limits, this.limits);
    const warm = poolable ? this.poolFor(image, user).take() : undefined;
    const held = warm ?? (await this.startContainer(image, user, options.jobId, limits));
    try {
      this.slots.moveIn(held.slot, options.workspace);
    } catch (e) {
      void held.shutdown().catch(() => undefined);
      throw e;
    }
    if (warm) void warm.container.rename(this.nameFor(options.jobId));
    const session = new DockerSession(options.jobId, options.workspace, held, {
      replace: () => this.startContainer(image, user, options.jobId, limits),
      slots: this.slots,
      defaultMaxOutput: this.config.TEST_OUTPUT_MAX_BYTES,
      closed: (s) => this.sessions.delete(s),
    });
    this.sessions.add(session);
    this.logger.debug({ jobId: options.jobId, container: held.container.name, image, warm: !!warm }, 'sandbox session opened');
    return session;
  }

  private nameFor(purpose: string): string {
    this.seq += 1;
    return containerName('agency-sbx', this.owner, purpose, this.incarnation, String(this.seq));
  }

  /** The runner's limits, with the repository's network and the tier's overrides. */
  private limitsFor(options: SandboxOpenOptions): SandboxLimits {
    const o = options.limits ?? {};
    return {
      ...this.limits,
      network: this.images.networkFor(options.repo),
      ...(o.memoryMb !== undefined ? { memoryMb: o.memoryMb } : {}),
      ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
      ...(o.pids !== undefined ? { pids: o.pids } : {}),
    };
  }

  private async startContainer(image: string, user: SandboxUser, purpose: string, limits: SandboxLimits = this.limits): Promise<SlottedContainer> {
    const slot = this.slots.create();
    try {
      const container = await SandboxContainer.start(this.engine, {
        image,
        name: this.nameFor(purpose),
        slotDir: slot.dir,
        slotHostDir: slot.hostDir,
        user,
        limits,
        labels: { [LABELS.sandbox]: 'true', [LABELS.owner]: this.owner, [LABELS.incarnation]: this.incarnation, [LABELS.slot]: slot.id },
      });
      return new SlottedContainer(container, slot, this.slots);
    } catch (e) {
      this.slots.discard(slot);
      throw e;
    }
  }
}

function sameLimits(a: SandboxLimits, b: SandboxLimits): boolean {
  return a.memoryMb === b.memoryMb && a.cpus === b.cpus && a.pids === b.pids && a.tmpMb === b.tmpMb && a.network === b.network;
}

interface SessionDeps {
  replace: () => Promise<SlottedContainer>;
  slots: SlotDirectories;
  defaultMaxOutput: number;
  closed: (session: DockerSession) => void;
}

/** A job's hold on a container; a container that died (a command killed its server) is replaced before the next command. */
class DockerSession implements SandboxSession {
  readonly workdir = SANDBOX_WORKDIR;
  private closedPromise?: Promise<void>;
  private queue: Promise<unknown> = Promise.resolve();
  private aborted = false;

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
    return this.held.container.exec(options, this.deps.defaultMaxOutput);
  }

  private async replaceContainer(): Promise<void> {
    const old = this.held;
    const next = await this.deps.replace();
    await old.container.shutdown().catch(() => undefined);
    this.deps.slots.moveOut(old.slot, this.workspace);
    this.deps.slots.discard(old.slot);
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
        this.deps.slots.moveOut(this.held.slot, this.workspace);
        this.deps.slots.discard(this.held.slot);
        this.deps.closed(this);
      }
    });
    return this.closedPromise;
  }
}
