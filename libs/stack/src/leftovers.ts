import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { dockerCliParentEnv } from './child-env.js';

const run = promisify(execFile);

/** Label every sandbox container and network of the agent-runner carries, and its owner's (apps/agent-runner container-spec LABELS). */
export const SANDBOX_LABEL = 'agency.sandbox';
export const SANDBOX_OWNER_LABEL = 'agency.sandbox.owner';

/** What stack.json records of a running stack's processes, so a later start on the same run directory can reap them. */
export interface RecordedProcess {
  pid: number;
  /** Text the process's environment (services: STACK_ID=<id>) or command line (nats-server: its store) must hold to be ours. */
  mark: string;
}

export interface RecordedStack {
  /** The process that ran the stack (agency up, a test), and when it started (so a reused pid is not taken for it). */
  pid: number;
  pidStartedAt?: string;
  stackId: string;
  processes: Record<string, RecordedProcess>;
}

/** Another stack runs on this run directory right now. */
export class StackRunningError extends Error {
  constructor(
    readonly runDir: string,
    readonly pid: number,
  ) {
    super(`another agency (pid ${pid}) is running on ${runDir}: stop it first (Ctrl-C in its terminal, or kill ${pid}), or give this one its own --run-dir`);
    this.name = 'StackRunningError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time in clock ticks since boot (/proc/<pid>/stat field 22); undefined where there is no /proc. */
export function processStartTime(pid: number): string | undefined {
  const stat = procText(pid, 'stat');
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] : undefined;
}

function procText(pid: number, file: 'environ' | 'cmdline' | 'stat'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** The recorded process is still this stack's: alive, and its environment or command line holds the mark. */
function stillOurs(p: RecordedProcess): boolean {
  if (!alive(p.pid)) return false;
  return procText(p.pid, 'environ').split('\0').includes(p.mark) || procText(p.pid, 'cmdline').split('\0').join(' ').includes(p.mark);
}

async function terminate(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Processes an earlier stack on this run directory left running (its `agency up` was killed
 * with SIGKILL, or crashed): each recorded one that still carries that stack's mark is stopped
 * (SIGTERM, SIGKILL after `graceMs`). Refuses when that stack's own process is still alive and
 * so are its services: two stacks on one run directory would share its store and vault.
 * Returns the names reaped, with their pids.
 */
export async function reapLeftoverProcesses(stateFile: string, runDir: string, graceMs = 15_000): Promise<string[]> {
  if (!existsSync(stateFile)) return [];
  let recorded: Partial<RecordedStack>;
  try {
    recorded = JSON.parse(readFileSync(stateFile, 'utf8')) as Partial<RecordedStack>;
  } catch {
    return []; // a torn file of a stack that died while writing it
  }
  const ours = Object.entries(recorded.processes ?? {}).filter(([, p]) => typeof p?.pid === 'number' && typeof p.mark === 'string' && stillOurs(p));
  if (ours.length === 0) return [];
  const owner = recorded.pid;
  if (
    owner !== undefined &&
    owner !== process.pid &&
    alive(owner) &&
    (recorded.pidStartedAt === undefined || processStartTime(owner) === recorded.pidStartedAt)
  ) {
    throw new StackRunningError(runDir, owner);
  }
  await Promise.all(ours.map(([, p]) => terminate(p.pid, graceMs)));
  return ours.map(([name, p]) => `${name} (pid ${p.pid})`);
}

/**
 * Sandbox containers and networks of `owner` (the stack's agent-runner) that are still there: a
 * runner that was killed, or crashed before its shutdown, could not remove its warm pool. Quietly
 * nothing when no docker CLI or engine answers (then no runner could have made any).
 */
export async function reapSandboxes(owner: string): Promise<string[]> {
  const env = dockerCliParentEnv(process.env);
  const filters = ['--filter', `label=${SANDBOX_LABEL}=true`, '--filter', `label=${SANDBOX_OWNER_LABEL}=${owner}`];
  let names: string[];
  try {
    const { stdout } = await run('docker', ['ps', '-a', '--format', '{{.ID}} {{.Names}}', ...filters], { env, timeout: 30_000 });
    names = stdout.split('\n').filter(Boolean);
  } catch {
    return [];
  }
  if (names.length > 0) await run('docker', ['rm', '-f', ...names.map((l) => l.split(' ')[0]!)], { env, timeout: 60_000 }).catch(() => undefined);
  try {
    const { stdout } = await run('docker', ['network', 'ls', '-q', ...filters], { env, timeout: 30_000 });
    const networks = stdout.split('\n').filter(Boolean);
    if (networks.length > 0) await run('docker', ['network', 'rm', ...networks], { env, timeout: 60_000 });
  } catch {
    // a network still in use is the runner's to remove
  }
  return names.map((l) => l.split(' ').slice(1).join(' '));
}
