import { spawn, type ChildProcess } from 'node:child_process';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';

export interface CommandRun {
  /** A shell command line, run with `sh -c` in `cwd`. */
  command: string;
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
}

export interface CommandResult {
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  /** stdout and stderr interleaved; its start and end when longer than the bound. */
  output: string;
}

/** What a repository's command may see of the reviewer's environment: never its keys, NATS or telemetry settings. */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'TZ', 'TMPDIR'] as const;

export function commandEnv(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (from[k] !== undefined) env[k] = from[k]!;
  return { ...env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
}

/** The first quarter and the last three quarters of the bound, with a marker where the middle went. */
export function boundOutput(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength <= maxBytes) return text;
  const head = Math.floor(maxBytes / 4);
  const tail = maxBytes - head;
  return `${bytes.subarray(0, head).toString('utf8')}\n[... ${bytes.byteLength - maxBytes} bytes left out ...]\n${bytes.subarray(bytes.byteLength - tail).toString('utf8')}`;
}

/**
 * Runs a repository's own command (its lint) as a host child process in its own process group,
 * with a minimal environment and a wall-clock limit that kills everything it started. Like
 * agent-runner's process sandbox this is no isolation boundary; it runs what the repository's
 * maintainers configured in agency.yaml, on the agent's change.
 */
@Injectable()
export class CommandRunner implements OnApplicationShutdown {
  private readonly running = new Set<ChildProcess>();

  run(run: CommandRun): Promise<CommandResult> {
    const started = Date.now();
    const chunks: Buffer[] = [];
    let bytes = 0;
    const child = spawn('sh', ['-c', run.command], { cwd: run.cwd, env: commandEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.running.add(child);
    const collect = (c: Buffer) => {
      chunks.push(c);
      bytes += c.length;
      // Keep memory bounded for chatty commands: the start and a generous tail suffice.
      if (bytes > run.maxOutputBytes * 4 && chunks.length > 2) {
        const all = Buffer.concat(chunks);
        chunks.length = 0;
        chunks.push(Buffer.from(boundOutput(all.toString('utf8'), run.maxOutputBytes * 2), 'utf8'));
        bytes = chunks[0]!.length;
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, run.timeoutMs);
    return new Promise((resolve, reject) => {
      child.once('error', (e) => {
        clearTimeout(timer);
        this.running.delete(child);
        reject(new Error(`cannot run "${run.command}" in ${run.cwd}: ${e.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        this.running.delete(child);
        killGroup(child);
        resolve({ exitCode: code ?? (signal ? 128 : 1), timedOut, durationMs: Date.now() - started, output: boundOutput(Buffer.concat(chunks).toString('utf8'), run.maxOutputBytes) });
      });
    });
  }

  onApplicationShutdown(): void {
    for (const child of this.running) killGroup(child);
    this.running.clear();
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}
