import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { openOutputPipe } from './output-pipe.js';
import { BoundedOutput } from './bounded-output.js';
import { isolatedCommand, type IsolationMode } from './process-isolation.js';
import type { SandboxUser, WorktreeOwner } from './worktree-owner.js';
import { tracedSession } from './sandbox-spans.js';
import { Sandbox, type SandboxExecOptions, type SandboxOpenOptions, type SandboxResult, type SandboxSession } from './sandbox.js';

/** Variables a command may see from the service's environment; everything else (keys, NATS, OTEL) stays out. */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'TERM'] as const;
/** In namespaces: no home or user of the runner's; HOME and TMPDIR are the private /tmp, as in the Docker sandbox. */
const ISOLATED_ENV = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TERM'] as const;

/** Time between SIGTERM and SIGKILL for a command that overran its limit. */
export const KILL_GRACE_MS = 2000;
/** How long output may still arrive after the command exited (a process that left the group keeps the pipes open). */
const DRAIN_MS = 1000;

export function sandboxEnv(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env, isolated = false): Record<string, string> {
  const env: Record<string, string> = isolated ? { HOME: '/tmp', TMPDIR: '/tmp' } : {};
  for (const k of isolated ? ISOLATED_ENV : INHERITED_ENV) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  // CI makes test runners non-interactive; no NO_COLOR (SANDBOX_ENV says why); npm offline but in the setup.
  return { ...env, CI: 'true', npm_config_offline: 'true', ...extra };
}

function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

function signalOfExitCode(code: number): NodeJS.Signals | undefined {
  return (Object.entries(constants.signals) as Array<[NodeJS.Signals, number]>).find(([, n]) => n === code - 128)?.[0];
}

export interface ProcessSandboxOptions {
  /** How commands are kept from the runner (see process-isolation.ts); `none` when not given. */
  isolation?: IsolationMode;
  /** Hands the worktree to SANDBOX_UID/GID when the runner is root (needed for `root` isolation). */
  owner?: WorktreeOwner;
  /** Throws when the vault no longer allows host processes (a model that is not scripted); checked at every session. */
  checkModels?: () => void;
}

/**
 * Runs commands as host child processes: `sh -c` in the workspace. With isolation (SANDBOX=process
 * on Linux with unshare and setpriv: see process-isolation.ts) each command gets namespaces of
 * its own: no network, its own /proc and /tmp, the runner's disk hidden but for the job's
 * worktree, and (runner as root) SANDBOX_UID/GID without capabilities; when it exits, the kernel
 * kills everything it left, whatever session it moved to. Without isolation it is a plain child in
 * its own process group (a `setsid` escapes it) with a scrubbed environment, as SANDBOX_UID/GID
 * when the runner is root (given an owner), else as the runner's user: little boundary beyond that.
 */
@Injectable()
export class ProcessSandbox extends Sandbox implements OnApplicationShutdown {
  readonly kind = 'process' as const;
  readonly isolation: IsolationMode;
  private readonly running = new Set<ChildProcess>();
  private readonly byJob = new Map<string, Set<ChildProcess>>();
  private readonly defaultMaxOutput: number;
  private readonly workDir?: string;
  private readonly tmpMb: number;

  constructor(
    config: AgentRunnerConfig,
    private readonly options: ProcessSandboxOptions = {},
  ) {
    super();
    this.defaultMaxOutput = config.TEST_OUTPUT_MAX_BYTES;
    this.isolation = options.isolation ?? 'none';
    if (config.WORK_DIR) this.workDir = resolve(config.WORK_DIR);
    this.tmpMb = config.SANDBOX_TMP_MB ?? 1024;
  }

  async open(options: SandboxOpenOptions): Promise<SandboxSession> {
    this.options.checkModels?.();
    const info = statSync(options.workspace, { throwIfNoEntry: false });
    if (!info?.isDirectory()) throw new Error(`sandbox workspace ${options.workspace} is not a directory`);
    // As root, commands run as the sandbox user, who must own the worktree (the runner's own files
    // stay out of reach), with namespaces or without: root's environment, memory and the Docker socket are not theirs.
    const asSandboxUser = this.isolation === 'root' || (this.isolation === 'none' && process.getuid?.() === 0);
    const user = asSandboxUser ? this.options.owner?.prepare(options.workspace) : undefined;
    return tracedSession(
      {
        jobId: options.jobId,
        workdir: this.workdirFor(options.workspace),
        exec: (exec) => this.exec(options.workspace, exec, options.jobId, user),
        close: async () => undefined,
      },
      options.phase ?? 'agent',
    );
  }

  /** The host worktree itself: commands run there, namespaces or not. */
  workdirFor(workspace: string): string {
    return workspace;
  }

  async closeJob(jobId: string): Promise<number> {
    this.markEnded(jobId);
    const children = [...(this.byJob.get(jobId) ?? [])];
    for (const child of children) killGroup(child, 'SIGKILL');
    return children.length;
  }

  private spawnCommand(workspace: string, options: SandboxExecOptions, user: SandboxUser | undefined, outputFd: number): ChildProcess {
    const isolated = this.isolation !== 'none';
    const { file, args } = isolated
      ? isolatedCommand(this.isolation as Exclude<IsolationMode, 'none'>, {
          command: options.command,
          ...(this.workDir ? { workDir: this.workDir } : {}),
          ...(user ? { user } : {}),
          tmpMb: this.tmpMb,
        })
      : { file: 'sh', args: ['-c', options.command] };
    // Without namespaces the sandbox user gets the process's uid/gid directly, and no home of the runner's.
    const plainUser = !isolated && user ? { uid: user.uid, gid: user.gid } : {};
    return spawn(file, args, {
      ...plainUser,
      cwd: workspace,
      env: sandboxEnv(options.env, process.env, isolated || !!user),
      // Its own process group: process.kill(-pid) reaches everything the command starts (in namespaces, the kernel does the rest).
      detached: true,
      // One real pipe for both (see openOutputPipe): a socket pair lost output written just before an exit.
      stdio: ['ignore', outputFd, outputFd],
    });
  }

  private exec(workspace: string, options: SandboxExecOptions, jobId?: string, user?: SandboxUser): Promise<SandboxResult> {
    if (!(options.timeoutMs > 0)) return Promise.reject(new Error(`sandbox timeout must be positive, got ${options.timeoutMs} ms`));
    // Checked and registered (byJob) in one synchronous stretch: closeJob either kills the child or this refuses it.
    try {
      if (jobId) this.refuseEnded(jobId);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const started = Date.now();
    const output = new BoundedOutput(options.maxOutputBytes ?? this.defaultMaxOutput);
    const pipe = openOutputPipe();
    let child: ChildProcess;
    try {
      child = this.spawnCommand(workspace, options, user, pipe.writeFd);
    } catch (e) {
      pipe.reader.destroy();
      throw e;
    } finally {
      pipe.closeWriter();
    }
    this.running.add(child);
    if (jobId) this.byJob.set(jobId, (this.byJob.get(jobId) ?? new Set()).add(child));
    const onData = (chunk: Buffer) => {
      output.append(chunk);
      options.onOutput?.(chunk.toString('utf8'));
    };
    pipe.reader.on('data', onData);
    const drained = new Promise<void>((resolve) => {
      pipe.reader.once('end', () => resolve());
      pipe.reader.once('close', () => resolve());
      pipe.reader.once('error', () => resolve());
    });

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    }, options.timeoutMs);

    return new Promise<SandboxResult>((resolve, reject) => {
      let settled = false;
      const settle = (result: SandboxResult | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(killTimer);
        this.running.delete(child);
        if (jobId) {
          const set = this.byJob.get(jobId);
          set?.delete(child);
          if (set?.size === 0) this.byJob.delete(jobId);
        }
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      child.once('error', (e) => settle(new Error(`cannot run "${options.command}" in ${workspace}: ${e.message}`)));
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      const finish = () => {
        if (!exit) return;
        // In namespaces the command's death by signal arrives as 128+n from the namespace's first process.
        const signal = exit.signal ?? (timedOut && exit.code !== null && exit.code > 128 ? signalOfExitCode(exit.code) : undefined);
        settle({
          exitCode: exit.code ?? (exit.signal ? signalExitCode(exit.signal) : 1),
          ...(signal ? { signal } : {}),
          timedOut,
          durationMs: Date.now() - started,
          output: output.toString(),
          outputBytes: output.totalBytes,
          truncated: output.truncated,
        });
      };
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        // Whatever the command left behind in its group (a server, a watcher) goes with it; the
        // output ends once every writer is gone, or is cut after DRAIN_MS.
        killGroup(child, 'SIGKILL');
        void Promise.race([drained, new Promise((r) => setTimeout(r, DRAIN_MS).unref())]).then(() => {
          pipe.reader.destroy();
          finish();
        });
      });
    });
  }

  /** Kills every command still running when the service stops. */
  onApplicationShutdown(): void {
    for (const child of this.running) killGroup(child, 'SIGKILL');
    this.running.clear();
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
