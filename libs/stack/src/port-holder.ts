import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { PORT_OFFSETS, STACK_PROCESSES, type StackProcess } from './services.js';

/** The process that listens on a port, as far as this user can see it. */
export interface PortHolder {
  pid: number;
  /** Its command line, cut to 160 characters. */
  command: string;
}

/** Whether `host:port` can be listened on: free, in use, or refused for another reason (the error's code, e.g. EACCES). */
export function portState(port: number, host = '127.0.0.1'): Promise<'free' | 'in-use' | string> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE' ? 'in-use' : (e.code ?? e.message)));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve('free')));
  });
}

async function portFree(port: number, host: string): Promise<boolean> {
  return (await portState(port, host)) === 'free';
}

/** Inodes of the sockets listening on `port` (any address), from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // not Linux, or no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!);
    }
  }
  return inodes;
}

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 160);
  } catch {
    return '?';
  }
}

/**
 * Who listens on `port`: the socket's inode from /proc/net, then the process holding a
 * descriptor to it. Undefined when nothing listens or the holder is not visible to this user
 * (another user's process, or no /proc).
 */
export function portHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return { pid: Number(pid), command: commandOf(pid) };
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** One port of the stack that is already taken, and by whom. */
export interface TakenPort {
  process: StackProcess;
  port: number;
  holder?: PortHolder;
  /** Why it cannot be listened on when it is not simply in use (EACCES...). */
  error?: string;
}

/** `agency up` stops before starting anything: a port it needs is in use. */
export class PortTakenError extends Error {
  constructor(
    readonly taken: TakenPort[],
    readonly freeBase?: number,
  ) {
    const lines = taken.map((t) =>
      t.error
        ? `port ${t.port} (${t.process}) cannot be listened on: ${t.error}`
        : `port ${t.port} (${t.process}) is already in use${t.holder ? ` by pid ${t.holder.pid}: ${t.holder.command}` : ' (by a process this user cannot see)'}`,
    );
    const agency = taken.some((t) => /dist\/apps\/[a-z-]+\/src\/main\.js/.test(t.holder?.command ?? ''));
    const hint = `${agency ? 'another agency is running there; ' : ''}stop it, or start this one on other ports: agency up --port-base ${freeBase ?? 'N'} (npm start -- --port-base ${freeBase ?? 'N'})`;
    super(`${lines.join('\n')}\n${hint}`);
    this.name = 'PortTakenError';
  }
}

/** The first port base from `from` (in steps of 10) whose eight ports are all free, if any. */
export async function findFreePortBase(from: number, host = '127.0.0.1'): Promise<number | undefined> {
  const span = Math.max(...Object.values(PORT_OFFSETS));
  for (let base = from; base + span <= 65535; base += 10) {
    let free = true;
    for (let p = base; p <= base + span && free; p++) free = await portFree(p, host);
    if (free) return base;
  }
  return undefined;
}

/** Throws PortTakenError naming every taken port, its holder and a free port base to use instead. */
export async function assertPortsFree(ports: Partial<Record<StackProcess, number>>, host = '127.0.0.1'): Promise<void> {
  const taken: TakenPort[] = [];
  for (const process of STACK_PROCESSES) {
    const port = ports[process];
    if (port === undefined) continue;
    const state = await portState(port, host);
    if (state === 'in-use') taken.push({ process, port, holder: portHolder(port) });
    else if (state !== 'free') taken.push({ process, port, error: state });
  }
  if (taken.length === 0) return;
  taken.sort((a, b) => a.port - b.port);
  const highest = Math.max(...Object.values(ports).filter((p): p is number => p !== undefined));
  throw new PortTakenError(taken, await findFreePortBase(Math.ceil((highest + 1) / 100) * 100, host));
}

/** A free port base picked at random from 20000-59990, so stacks started side by side (tests) take different ones. */
export async function randomFreePortBase(host = '127.0.0.1'): Promise<number> {
  // Below the kernel's ephemeral range: a port there can be taken by any outgoing connection
  // between the check and the bind (an eval run failed so on a shared machine).
  const top = Math.min(ephemeralLow(), 60_000) - 20;
  const bases = Math.max(1, Math.floor((top - 20_000) / 10));
  for (let i = 0; i < 100; i++) {
    const base = 20_000 + Math.floor(Math.random() * bases) * 10;
    if ((await findFreePortBase(base, host)) === base) return base;
  }
  throw new Error(`no free range of 8 ports found between 20000 and ${top}`);
}

/** The first port the kernel may hand an outgoing connection (Linux's ip_local_port_range; 32768 elsewhere). */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isFinite(low) && low > 20_100 ? low : 32_768;
  } catch {
    return 32_768;
  }
}
