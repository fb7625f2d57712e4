import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { BoundedOutput } from './bounded-output.js';
import { Sandbox, type SandboxExecOptions, type SandboxOpenOptions, type SandboxResult, type SandboxSession } from './sandbox.js';

/** Variables a command may see from the service's environment; everything else (keys, NATS, OTEL) stays out. */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'TERM'] as const;

/** Time between SIGTERM and SIGKILL for a command that overran its limit. */
export const KILL_GRACE_MS = 2000;
/** How long output may still arrive after the command exited (a process that left the group keeps the pipes open). */
const DRAIN_MS = 1000;

export function sandboxEnv(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  // Plain output for the parsers; CI makes test runners non-interactive.
  return { ...env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Runs commands as host child processes: `sh -c` in the workspace, in their own process group,
 * so a timeout (and the end of the command) kills everything it started, grandchildren included.
 * Not an isolation boundary: it is the fallback where no container engine answers (SANDBOX=process).
 */
@Injectable()
export class ProcessSandbox extends Sandbox implements OnApplicationShutdown {
  readonly kind = 'process' as const;
  private readonly running = new Set<ChildProcess>();
  private readonly byJob = new Map<string, Set<ChildProcess>>();
  private readonly defaultMaxOutput: number;

  constructor(config: AgentRunnerConfig) {
    super();
    this.defaultMaxOutput = config.TEST_OUTPUT_MAX_BYTES;
  }

  async open(options: SandboxOpenOptions): Promise<SandboxSession> {
    const info = statSync(options.workspace, { throwIfNoEntry: false });
    if (!info?.isDirectory()) throw new Error(`sandbox workspace ${options.workspace} is not a directory`);
    return { jobId: options.jobId, workdir: options.workspace, exec: (exec) => this.exec(options.workspace, exec, options.jobId), close: async () => undefined };
  }

  async closeJob(jobId: string): Promise<number> {
    const children = [...(this.byJob.get(jobId) ?? [])];
    for (const child of children) killGroup(child, 'SIGKILL');
    return children.length;
  }

  private exec(workspace: string, options: SandboxExecOptions, jobId?: string): Promise<SandboxResult> {
    if (!(options.timeoutMs > 0)) return Promise.reject(new Error(`sandbox timeout must be positive, got ${options.timeoutMs} ms`));
    const started = Date.now();
    const output = new BoundedOutput(options.maxOutputBytes ?? this.defaultMaxOutput);
    const child = spawn('sh', ['-c', options.command], {
      cwd: workspace,
      env: sandboxEnv(options.env),
      // Its own process group: process.kill(-pid) reaches everything the command starts.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.running.add(child);
    if (jobId) this.byJob.set(jobId, (this.byJob.get(jobId) ?? new Set()).add(child));
    const onData = (chunk: Buffer) => {
      output.append(chunk);
      options.onOutput?.(chunk.toString('utf8'));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);

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
        settle({
          exitCode: exit.code ?? (exit.signal ? signalExitCode(exit.signal) : 1),
          ...(exit.signal ? { signal: exit.signal } : {}),
          timedOut,
          durationMs: Date.now() - started,
          output: output.toString(),
          outputBytes: output.totalBytes,
          truncated: output.truncated,
        });
      };
      child.once('close', finish);
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        // Whatever the command left behind in its group (a server, a watcher) goes with it.
        killGroup(child, 'SIGKILL');
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, DRAIN_MS).unref();
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
