import { statSync } from 'node:fs';
import { Inject, Injectable, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import type { RepoTargetDto, SandboxLimitsDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { GitClient } from '../git/git.client.js';
import { KeyedMutex } from '../git/keyed-mutex.js';
import type { JobWorkspace } from '../git/workspace.service.js';
import { DockerEngine } from '../sandbox/docker/docker.engine.js';
import { Sandbox, type SandboxMount, type SandboxResult } from '../sandbox/sandbox.js';
import { SandboxImages } from '../sandbox/sandbox-images.js';
import { WorktreeOwner } from '../sandbox/worktree-owner.js';
import { ARCHIVE_NAME, cacheKeyOf, EnvironmentCache, type CacheEntryMeta } from './environment-cache.js';
import { dropRecord, isCurrent, readRecord, writeRecord, type EnvironmentRecord } from './environment-record.js';
import { addExcludes } from './excludes.js';
import { lockFilesOf, lockHash, registriesFor, type LockFile } from './lock-files.js';
import { RegistryProxies, type ProxyHandle } from './registry-proxy.js';
import { prepareSetupTrust, type SetupTrust } from './setup-trust.js';
import { setupFailure } from './setup-failure.js';

/** Where an environment container sees the cache archive it restores, and the folder it writes a new one to. */
const CACHE_IN = '/agency/cache-in/env.tar';
const CACHE_OUT = '/agency/cache-out';
/** More worktree paths than this are not archived (the command line would not hold them). */
const MAX_CACHED_PATHS = 1000;
const OUTPUT_TAIL = 4000;

/** The job's environment as the coder's prompt and the test report describe it. */
export interface EnvironmentSummary {
  /** The repository's setup command; absent: it has none and nothing was installed. */
  setupCommand?: string;
  /** none: no setup; present: already in the worktree; setup: installed now; restored: unpacked from the cache. */
  action: 'none' | 'present' | 'setup' | 'restored';
  ok: boolean;
  exitCode?: number;
  /** This preparation's time; `setupMs` is the install's that made the environment. */
  durationMs: number;
  setupMs?: number;
  /** Whether what is installed came from the cache rather than an install. */
  cached: boolean;
  /** The setup's network: `registries` (the allowlisting proxy), `none`, or a Docker network. */
  network?: string;
  /** What the setup created in the worktree (excluded from git). */
  paths: string[];
  lockHash?: string;
  /** A cache entry was made from this install. */
  stored?: boolean;
  /** Why something did not happen (no cache entry made, a restore that failed). */
  notes: string[];
  outputTail?: string;
}

export interface EnsureOptions {
  jobId: string;
  limits?: SandboxLimitsDto;
  progress?: (message: string) => void;
}

interface Inputs {
  head: string;
  files: LockFile[];
  lockHash: string;
  imageId: string;
  /** The worktree is at the job's base (just checked out and cleaned): nothing an agent wrote can have shaped the install. */
  trusted: boolean;
}

function tailOf(text: string): string {
  return text.length <= OUTPUT_TAIL ? text : text.slice(-OUTPUT_TAIL);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Repository environments (issue 11): the repository's `setup` runs once per job, in the job's
 * sandbox, before the agent phase, with the setup's network only; what it installs stays in the
 * worktree (excluded from git, so checkout and clean keep it and no commit takes it) for the
 * coder's commands and the tests, and is installed again only when the lock files change. An
 * install at the job's base is archived in the sandbox into the cache; the next job with the same
 * repository, image, setup command and lock files unpacks it instead of installing.
 */
@Injectable()
export class JobEnvironments implements OnApplicationBootstrap {
  private readonly summaries = new Map<string, EnvironmentSummary>();
  private readonly setupTimeoutMs: number;

  constructor(
    config: AgentRunnerConfig,
    private readonly git: GitClient,
    private readonly locks: KeyedMutex,
    @Inject(Sandbox) private readonly sandbox: Pick<Sandbox, 'open' | 'kind'>,
    private readonly images: SandboxImages,
    private readonly cache: EnvironmentCache,
    private readonly owners: WorktreeOwner,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    @Optional() private readonly engine?: DockerEngine,
    @Optional() private readonly proxies?: RegistryProxies,
  ) {
    this.setupTimeoutMs = config.SETUP_TIMEOUT_SECONDS * 1000;
    this.trust = prepareSetupTrust(config.SANDBOX_CA_BUNDLE, config.WORK_DIR);
  }

  private readonly trust: SetupTrust | undefined;

  /** Says at boot how setups get their network and whether their environments are cached. */
  onApplicationBootstrap(): void {
    const network = this.images.setupNetworkFor();
    const docker = this.sandbox.kind === 'docker';
    const how = !docker
      ? 'on the host, with its network (SANDBOX=process: no proxy, no cache)'
      : network === 'registries'
        ? "through the allowlisting registry proxy (a repository's registries, else its ecosystems' public ones)"
        : network === 'none'
          ? 'with no network'
          : `on the Docker network ${network}, unfiltered`;
    this.logger.info(
      { setupNetwork: network, cache: docker && this.cache.enabled ? this.cache.root : 'off' },
      `repository setups run once per job ${how} unless a repository's network says otherwise; the agent phase never has a network; environment cache ${docker && this.cache.enabled ? `in ${this.cache.root}` : 'off'}`,
    );
  }

  /** The job's environment as last prepared by this runner (for the coder's prompt): command, exit, time, cached or not. */
  describe(jobId: string): EnvironmentSummary | undefined {
    return this.summaries.get(jobId);
  }

  /**
   * Makes sure the worktree has the repository's environment for its lock files: nothing to do
   * when it has, else a restore from the cache, else the setup. A setup that fails at the job's
   * base throws a StepFailure (ENV_SETUP_FAILED / ENV_SETUP_TIMEOUT); one that fails on an
   * agent's change (new lock files) is returned (ok false) for the caller to report to the agent.
   */
  async ensure(ws: JobWorkspace, repo: RepoTargetDto, options: EnsureOptions): Promise<EnvironmentSummary> {
    const started = Date.now();
    const setupCommand = repo.setupCommand?.trim();
    if (!setupCommand) return this.remember(options.jobId, { action: 'none', ok: true, durationMs: 0, cached: false, paths: [], notes: [] });
    const inputs = await this.inputsOf(ws, repo);
    const record = readRecord(ws.gitDir);
    const want = { setupCommand, imageId: inputs.imageId, lockHash: inputs.lockHash };
    if (isCurrent(record, ws.dir, want)) {
      return this.remember(options.jobId, {
        setupCommand,
        action: 'present',
        ok: true,
        durationMs: Date.now() - started,
        setupMs: record.setupMs,
        cached: record.from === 'cache',
        paths: record.paths,
        lockHash: inputs.lockHash,
        notes: [],
      });
    }
    const key = cacheKeyOf({ repo: repo.name, ...want });
    const notes: string[] = [];
    const hit = this.sandbox.kind === 'docker' ? this.cache.lookup(key) : undefined;
    if (hit) {
      options.progress?.(`environment: restoring ${repo.name}'s cached environment`);
      const restored = await this.restore(ws, repo, options, hit.archive, record);
      if (restored.exitCode === 0 && !restored.timedOut) {
        await this.adopt(ws, { ...want, paths: hit.meta.paths, from: 'cache', setupMs: hit.meta.setupMs });
        return this.remember(options.jobId, {
          setupCommand,
          action: 'restored',
          ok: true,
          exitCode: 0,
          durationMs: Date.now() - started,
          setupMs: hit.meta.setupMs,
          cached: true,
          paths: hit.meta.paths,
          lockHash: inputs.lockHash,
          notes,
        });
      }
      notes.push(`the cached environment could not be restored (exit ${restored.exitCode}), so the setup ran: ${tailOf(restored.output).slice(-500)}`);
    }
    return this.install(ws, repo, options, { inputs, want, key, notes, started, hadEnvironment: record });
  }

  private async install(
    ws: JobWorkspace,
    repo: RepoTargetDto,
    options: EnsureOptions,
    c: {
      inputs: Inputs;
      want: Pick<EnvironmentRecord, 'setupCommand' | 'imageId' | 'lockHash'>;
      key: string;
      notes: string[];
      started: number;
      hadEnvironment?: EnvironmentRecord;
    },
  ): Promise<EnvironmentSummary> {
    const setupCommand = c.want.setupCommand;
    options.progress?.(`environment: ${setupCommand}`);
    const { result, network } = await this.runSetup(ws, repo, options, c.inputs.files);
    const base = {
      setupCommand,
      exitCode: result.exitCode,
      durationMs: Date.now() - c.started,
      cached: false,
      network,
      lockHash: c.inputs.lockHash,
      outputTail: tailOf(result.output),
    };
    if (result.exitCode !== 0 || result.timedOut) {
      // A half-made environment is not the one the record describes.
      if (c.hadEnvironment) dropRecord(ws.gitDir);
      const failure = setupFailure(setupCommand, result, Math.round(this.setupTimeoutMs / 1000));
      this.remember(options.jobId, { ...base, action: 'setup', ok: false, paths: [], notes: [...c.notes, failure.message.split('\n')[0]!] });
      if (c.inputs.trusted || failure.retryable) throw failure;
      return this.summaries.get(options.jobId)!;
    }
    const paths = await this.createdPaths(ws);
    await this.adopt(ws, { ...c.want, paths, from: 'setup', setupMs: result.durationMs });
    let stored = false;
    if (!c.inputs.trusted) c.notes.push("no cache entry made: the setup ran on an agent's change");
    else if (this.sandbox.kind !== 'docker' || !this.cache.enabled)
      c.notes.push('no cache entry made: the cache needs the Docker sandbox and ENV_CACHE_MAX_MB > 0');
    else if (paths.length === 0) c.notes.push('no cache entry made: the setup created nothing in the worktree');
    else if (paths.length > MAX_CACHED_PATHS)
      c.notes.push(`no cache entry made: the setup created ${paths.length} top-level paths (at most ${MAX_CACHED_PATHS})`);
    else stored = await this.archive(ws, repo, options, { key: c.key, repo: repo.name, ...c.want, paths, setupMs: result.durationMs }, c.notes);
    return this.remember(options.jobId, { ...base, action: 'setup', ok: true, setupMs: result.durationMs, paths, stored, notes: c.notes });
  }

  /** The setup in an environment container of the job, on the repository's setup network. */
  private async runSetup(
    ws: JobWorkspace,
    repo: RepoTargetDto,
    options: EnsureOptions,
    files: LockFile[],
  ): Promise<{ result: SandboxResult; network: string }> {
    const setupCommand = repo.setupCommand!.trim();
    const network = this.images.setupNetworkFor(repo.name);
    let proxy: ProxyHandle | undefined;
    let dockerNetwork = network;
    if (network === 'registries') {
      if (this.sandbox.kind === 'docker' && this.proxies) {
        proxy = await this.proxies.start(options.jobId, registriesFor(this.images.registriesFor(repo.name), files));
        dockerNetwork = proxy.network;
      } else {
        dockerNetwork = 'none';
      }
    }
    try {
      const trust = dockerNetwork !== 'none' ? this.trust : undefined;
      const session = await this.sandbox.open({
        workspace: ws.dir,
        jobId: options.jobId,
        repo: repo.name,
        ...(options.limits ? { limits: options.limits } : {}),
        phase: 'environment',
        network: dockerNetwork,
        ...(trust ? { mounts: [trust.mount] } : {}),
      });
      let result: SandboxResult;
      try {
        // The one phase that may reach a registry: every other command runs npm offline (SANDBOX_ENV).
        const env = { npm_config_offline: 'false', ...(proxy?.env ?? {}), ...(trust?.env ?? {}) };
        result = await session.exec({ command: setupCommand, timeoutMs: this.setupTimeoutMs, env });
      } finally {
        await session.close();
      }
      const refused = proxy?.refusals() ?? [];
      const allowed = proxy ? registriesFor(this.images.registriesFor(repo.name), files) : [];
      // The refusal in the setup's own output, so whoever reads the failure sees why a download failed.
      if (refused.length > 0)
        result = {
          ...result,
          output: `${result.output}\n[registry proxy refused: ${refused.join('; ')}; allowed: ${allowed.length > 0 ? allowed.join(', ') : 'none (no lock file or manifest shows an ecosystem)'}; set repos.${repo.name}.registries to allow others]\n`,
        };
      return { result, network };
    } finally {
      await proxy?.close();
    }
  }

  private async restore(
    ws: JobWorkspace,
    repo: RepoTargetDto,
    options: EnsureOptions,
    archive: string,
    previous: EnvironmentRecord | undefined,
  ): Promise<SandboxResult> {
    const mounts: SandboxMount[] = [{ hostPath: archive, target: CACHE_IN, readOnly: true }];
    // What an earlier environment left goes first, so nothing stale mixes with the restored one.
    const clear = previous && previous.paths.length > 0 ? `rm -rf -- ${previous.paths.map(shellQuote).join(' ')} && ` : '';
    const session = await this.sandbox.open({
      workspace: ws.dir,
      jobId: options.jobId,
      repo: repo.name,
      ...(options.limits ? { limits: options.limits } : {}),
      phase: 'environment',
      network: 'none',
      mounts,
    });
    try {
      return await session.exec({ command: `${clear}tar -xf ${CACHE_IN}`, timeoutMs: this.setupTimeoutMs });
    } finally {
      await session.close();
    }
  }

  /** Archives the setup's paths in a sandbox (no network) into a fresh incoming folder, then stores the file. */
  private async archive(
    ws: JobWorkspace,
    repo: RepoTargetDto,
    options: EnsureOptions,
    meta: Omit<CacheEntryMeta, 'sizeBytes' | 'createdAt'>,
    notes: string[],
  ): Promise<boolean> {
    const incoming = this.cache.incoming(this.owners.prepare(ws.dir));
    try {
      const session = await this.sandbox.open({
        workspace: ws.dir,
        jobId: options.jobId,
        repo: repo.name,
        ...(options.limits ? { limits: options.limits } : {}),
        phase: 'environment',
        network: 'none',
        mounts: [{ hostPath: incoming, target: CACHE_OUT, readOnly: false }],
      });
      let r: SandboxResult;
      try {
        const names = meta.paths.map((p) => shellQuote(p.replace(/\/$/, ''))).join(' ');
        r = await session.exec({ command: `tar -cf ${CACHE_OUT}/${ARCHIVE_NAME} -- ${names}`, timeoutMs: this.setupTimeoutMs });
      } finally {
        await session.close();
      }
      if (r.exitCode !== 0 || r.timedOut) {
        notes.push(`no cache entry made: archiving failed (exit ${r.exitCode}): ${tailOf(r.output).slice(-500)}`);
        this.cache.discardIncoming(incoming);
        return false;
      }
      const stored = this.cache.store(incoming, meta);
      if (!stored.stored) notes.push(`no cache entry made: ${stored.reason}`);
      return stored.stored;
    } catch (e) {
      this.cache.discardIncoming(incoming);
      this.logger.warn({ err: e, jobId: options.jobId }, 'environment not cached');
      notes.push(`no cache entry made: ${(e as Error).message}`);
      return false;
    }
  }

  private async inputsOf(ws: JobWorkspace, repo: RepoTargetDto): Promise<Inputs> {
    const head = (await this.git.runInTree(ws, ['rev-parse', 'HEAD'])).trim();
    // Lock files as committed (git objects in the runner's mirror), never as a sandbox left them.
    const files = lockFilesOf(await this.git.run(ws.mirrorDir, ['ls-tree', '-r', '-z', '--full-tree', head]));
    return { head, files, lockHash: lockHash(files), imageId: await this.imageIdOf(repo), trusted: head === ws.baseSha };
  }

  private async imageIdOf(repo: RepoTargetDto): Promise<string> {
    const image = this.images.imageFor(repo.name);
    if (this.sandbox.kind !== 'docker' || !this.engine) return `host:${image}`;
    try {
      return await this.engine.imageId(image);
    } catch {
      return image;
    }
  }

  /** Every untracked path in the worktree, collapsed to directories: after a setup on a clean checkout, what it created. */
  private async createdPaths(ws: JobWorkspace): Promise<string[]> {
    const out = await this.git.runInTree(ws, ['ls-files', '--others', '--directory', '-z']);
    return out.split('\0').filter(Boolean).sort();
  }

  /** Excludes the paths from git (under the mirror's lock) and records the environment. */
  private async adopt(ws: JobWorkspace, r: Omit<EnvironmentRecord, 'ino' | 'at'>): Promise<void> {
    await this.locks.run(ws.mirrorDir, async () => addExcludes(ws.mirrorDir, r.paths));
    const ino = statSync(ws.dir).ino;
    writeRecord(ws.gitDir, { ...r, ino, at: new Date().toISOString() });
  }

  private remember(jobId: string, summary: EnvironmentSummary): EnvironmentSummary {
    this.summaries.set(jobId, summary);
    if (this.summaries.size > 1000) this.summaries.delete(this.summaries.keys().next().value!);
    return summary;
  }
}
