import { randomUUID } from 'node:crypto';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig, sandboxOwnerOf } from '../../agent-runner.config.js';
import { Sandbox, SandboxError, type SandboxOpenOptions, type SandboxSession } from '../sandbox.js';
import { SandboxImages } from '../sandbox-images.js';
import { ContainerReaper } from './container-reaper.js';
import {
  containerName,
  LABELS,
  REPO_DIR,
  SANDBOX_WORKDIR,
  SERVER_NODE_LABEL,
  serverNodeOf,
  type ContainerSpecInput,
  type SandboxLimits,
} from './container-spec.js';
import { DockerEngine } from './docker.engine.js';
import { SandboxContainer } from './sandbox-container.js';
import { SlotDirectories } from './slot-directories.js';
import { DockerSession, SlottedContainer } from './docker-session.js';
import { JobDisks } from './job-disks.js';
import { describeWorktreeBound } from './worktree-bound.js';
import { WarmPool } from './warm-pool.js';
import { tracedSession } from '../sandbox-spans.js';
import { DiskUsage } from './worktree-disk-watch.js';
import { WorktreeOwner, type SandboxUser } from '../worktree-owner.js';

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
    private readonly jobDisks: JobDisks = new JobDisks(config),
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
    await this.jobDisks.init();
    this.logger.info(
      {
        diskPerFileMb: this.config.SANDBOX_DISK_MB,
        tmpMb: this.config.SANDBOX_TMP_MB,
        worktreeMb: this.config.SANDBOX_WORKTREE_MB,
        worktreeBound: this.jobDisks.bound.kind,
      },
      `sandbox disk limit: every file a command writes (the worktree included) stops at ${this.config.SANDBOX_DISK_MB} MB (ulimit fsize, enforced by the kernel; the step fails with SANDBOX_DISK_LIMIT), /tmp at ${this.config.SANDBOX_TMP_MB} MB (tmpfs); ${describeWorktreeBound(this.jobDisks.bound, this.config.SANDBOX_DISK_CHECK_MS)}`,
    );
    await this.reaper.reap(this.owner);
    const reaped = await this.jobDisks.reap();
    if (reaped.length > 0) this.logger.info({ reaped }, 'job file systems of an earlier run reaped (unmounted or images removed)');
    const moved = this.slots.recover(this.worktreesDir, (worktree, reason) =>
      this.logger.warn({ worktree, reason }, 'worktree of a crashed run not moved back from its slot'),
    );
    if (moved.length > 0) this.logger.info({ worktrees: moved }, 'worktrees moved back from the slots of a crashed run');
    // Kept with a file system per job too: a worktree made before (a plain directory) still moves into a warm slot.
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
    // A worktree on its own file system is a mount point: it cannot move into a warm container's slot, so it is bound where it is.
    const ownFs = this.jobDisks.isMounted(options.workspace);
    if (ownFs && [...this.sessions].some((s) => s.workspace === options.workspace))
      throw new SandboxError('SANDBOX_BUSY', `workspace ${options.workspace} is already in a sandbox (another step of the same job is running)`);
    const worktreeHostDir = ownFs ? this.enginePathOf(options.workspace) : undefined;
    // Warm containers have the default limits and no extra mounts: anything else starts its own.
    const poolable = this.config.SANDBOX_POOL_SIZE > 0 && sameLimits(limits, this.limits) && binds.length === 0 && !ownFs;
    const warm = poolable ? this.poolFor(image, user).take() : undefined;
    const held = warm ?? (await this.startContainer(image, user, options.jobId, limits, binds, worktreeHostDir));
    try {
      if (!ownFs) this.slots.moveIn(held.slot, options.workspace);
    } catch (e) {
      void held.shutdown().catch(() => undefined);
      throw e;
    }
    if (warm) void warm.container.rename(this.nameFor(options.jobId));
    const session = new DockerSession(options.jobId, options.workspace, held, {
      replace: () => this.startContainer(image, user, options.jobId, limits, binds, worktreeHostDir),
      slots: this.slots,
      defaultMaxOutput: this.config.TEST_OUTPUT_MAX_BYTES,
      diskMb: this.config.SANDBOX_DISK_MB,
      tmpMb: this.config.SANDBOX_TMP_MB,
      // The kernel bounds a worktree on its own file system; any other is measured.
      ...(ownFs ? { ownFileSystemMb: this.config.SANDBOX_WORKTREE_MB } : {}),
      ...(!ownFs && this.config.SANDBOX_WORKTREE_MB > 0
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
    worktreeHostDir?: string,
  ): Promise<SlottedContainer> {
    const slot = this.slots.create();
    try {
      // The worktree's mount point inside the read-only slot.
      if (worktreeHostDir) mkdirSync(join(slot.dir, REPO_DIR));
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
        ...(worktreeHostDir ? { worktreeHostDir } : {}),
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
