import type * as ChildProcessModule from 'node:child_process';
import type * as FsModule from 'node:fs';
import type * as NetModule from 'node:net';

/**
 * The command server: the main process of every sandbox container. A `docker exec` costs about
 * 90 ms here; a line of JSON to a process that is already running costs a few. It reads requests
 * from stdin and answers on stdout, one JSON object per line:
 *
 *   -> {"t":"run","id":1,"cmd":"npm test","cwd":"/workspace/repo","env":{},"timeoutMs":60000,"maxBytes":2000000}
 *   <- {"t":"out","id":1,"d":"<base64>"}          output as it comes, up to maxBytes
 *   <- {"t":"exit","id":1,"code":0,"signal":null,"timedOut":false,"oom":false,"oomCount":0,"total":123,"tail":null,"ms":42}
 *   -> {"t":"bye"}                                  kill everything and exit
 *
 * After a command ends (or times out), every other process in the container is killed, so
 * nothing a command started (a daemon, a fork bomb, a `setsid` escapee) outlives it. The kernel's
 * OOM-kill counter of the container's cgroup tells a memory kill from any other SIGKILL.
 *
 * A command's stdout and stderr are one FIFO, not the socket pair `stdio: 'pipe'` makes: node
 * writes to a socket that is momentarily full asynchronously and drops the queue at
 * `process.exit()`, so a test runner that prints many small pieces and exits at once (uvu) lost
 * the end of its output, its summary included; a pipe is written synchronously.
 *
 * The function is sent as source text (`node -e "(<source>)()"`), so it must not use anything
 * from this module's scope: only globals, and Node's built-in modules loaded at run time.
 */
export function commandServerMain(): void {
  type Request = { t: 'run'; id: number; cmd: string; cwd: string; env?: Record<string, string>; timeoutMs: number; maxBytes: number } | { t: 'bye' };
  const g = globalThis as unknown as { require?: (id: string) => unknown };
  const load = <T>(id: string): T => (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : g.require!(id)) as T;
  const cp = load<typeof ChildProcessModule>('node:child_process');
  const fs = load<typeof FsModule>('node:fs');
  const net = load<typeof NetModule>('node:net');
  const KILL_GRACE_MS = 2000;
  const DRAIN_MS = 500;
  const DRAIN_ALL_DEAD_MS = 10_000;
  const START_RETRY_MS = 15_000;

  const send = (msg: Record<string, unknown>) => {
    process.stdout.write(`${JSON.stringify(msg)}\n`);
  };
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  /** Every process of the container but init (pid 1) and this server; zombies are init's to reap. */
  const others = (): number[] => {
    const pids: number[] = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (pid === 1 || pid === process.pid) continue;
      let stat = '';
      try {
        stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue;
      }
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (state !== 'Z' && state !== 'X') pids.push(pid);
    }
    return pids;
  };
  const signalAll = (signal: NodeJS.Signals) => {
    for (const pid of others()) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already, or not ours to signal.
      }
    }
  };
  /**
   * Kills until nothing is left. A fork bomb keeps forking between two signals, so each round
   * first stops every process (a stopped process cannot fork), then kills them all.
   */
  /** True once no other process is left (false if one survived 15 s of SIGKILL). */
  const killAll = async (): Promise<boolean> => {
    const deadline = Date.now() + 15_000;
    for (let round = 0; Date.now() < deadline; round += 1) {
      if (others().length === 0) return true;
      signalAll('SIGSTOP');
      signalAll('SIGKILL');
      await sleep(round < 10 ? 2 : 20);
    }
    return others().length === 0;
  };
  const oomKills = (): number => {
    for (const [file, re] of [
      ['/sys/fs/cgroup/memory/memory.oom_control', /^oom_kill (\d+)$/m],
      ['/sys/fs/cgroup/memory.events', /^oom_kill (\d+)$/m],
    ] as const) {
      try {
        const m = re.exec(fs.readFileSync(file, 'utf8'));
        if (m) return Number(m[1]);
      } catch {
        // Not this cgroup version.
      }
    }
    return -1;
  };

  /** A FIFO for one command's output: its read end as a stream, its write end for the command (the name is gone at once). */
  const outputPipe = (id: number): { reader: NetModule.Socket; writeFd: number } => {
    const path = `/tmp/.agency-output-${process.pid}-${id}`;
    fs.rmSync(path, { force: true });
    const made = cp.spawnSync('mkfifo', ['-m', '600', path]);
    if (made.status !== 0) throw new Error(`mkfifo failed: ${String(made.stderr ?? made.error?.message ?? '').trim()}`);
    try {
      const readFd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const writeFd = fs.openSync(path, fs.constants.O_WRONLY);
      return { reader: new net.Socket({ fd: readFd, readable: true, writable: false }), writeFd };
    } finally {
      fs.rmSync(path, { force: true });
    }
  };

  /** Starts a command with its output on a fresh FIFO. */
  const startOnce = async (req: Extract<Request, { t: 'run' }>): Promise<{ child: ChildProcessModule.ChildProcess; output: NetModule.Socket }> => {
    const { reader, writeFd } = outputPipe(req.id);
    let child: ChildProcessModule.ChildProcess;
    try {
      // The command goes first in line for the OOM killer, so a memory hog dies and the server lives.
      child = cp.spawn('/bin/sh', ['-c', 'echo 1000 > /proc/self/oom_score_adj 2>/dev/null; exec /bin/sh -c "$1"', 'sh', req.cmd], {
        cwd: req.cwd,
        env: { ...process.env, ...(req.env ?? {}) },
        detached: true,
        stdio: ['ignore', writeFd, writeFd],
      });
    } catch (e) {
      reader.destroy();
      throw e;
    } finally {
      // The command holds its own copies; the read end sees its end once every writer has gone.
      fs.closeSync(writeFd);
    }
    if (child.pid === undefined) {
      // A failed spawn has no pid; its error (EAGAIN at the process limit) comes on the next tick.
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      reader.destroy();
      throw error;
    }
    return { child, output: reader };
  };
  /**
   * Starts a command; while the container's process limit is still full (init has not yet reaped
   * all a fork bomb left), tries again for a while instead of failing the next command.
   */
  const start = async (req: Extract<Request, { t: 'run' }>) => {
    const deadline = Date.now() + START_RETRY_MS;
    for (;;) {
      try {
        return await startOnce(req);
      } catch (e) {
        if (!/EAGAIN/.test((e as Error).message) || Date.now() > deadline) throw e;
        await sleep(50);
      }
    }
  };

  let busy = false;
  const run = async (req: Extract<Request, { t: 'run' }>) => {
    if (busy) return send({ t: 'exit', id: req.id, error: 'another command is still running' });
    busy = true;
    const started = Date.now();
    const oomBefore = oomKills();
    const tailLimit = Math.max(1, Math.floor((req.maxBytes * 3) / 4));
    let forwarded = 0;
    let total = 0;
    let tail: Buffer[] = [];
    let tailBytes = 0;
    let timedOut = false;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (forwarded < req.maxBytes) {
        const part = chunk.subarray(0, req.maxBytes - forwarded);
        forwarded += part.length;
        send({ t: 'out', id: req.id, d: part.toString('base64') });
      }
      tail.push(chunk);
      tailBytes += chunk.length;
      if (tailBytes > tailLimit * 2) {
        const joined = Buffer.concat(tail).subarray(-tailLimit);
        tail = [joined];
        tailBytes = joined.length;
      }
    };
    let child: ChildProcessModule.ChildProcess;
    let output: NetModule.Socket;
    try {
      ({ child, output } = await start(req));
    } catch (e) {
      busy = false;
      return send({ t: 'exit', id: req.id, error: `cannot start the command: ${(e as Error).message}` });
    }
    output.on('data', onData);
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // The group is gone.
      }
      signalAll('SIGTERM');
      graceTimer = setTimeout(() => void killAll(), KILL_GRACE_MS);
    }, req.timeoutMs);
    const closed = new Promise<void>((resolve) => {
      output.once('end', () => resolve());
      output.once('close', () => resolve());
      output.once('error', () => resolve());
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (e) => resolve({ code: 127, signal: null, error: e.message }));
    });
    const exit = await exited;
    clearTimeout(timer);
    clearTimeout(graceTimer);
    // Whatever the command left behind goes with it; then its pipes close. With every writer
    // dead the close only waits for this server to read what is in the pipes, which on a
    // starved CPU can take more than a moment: wait for it (bounded) rather than drop output.
    const noneLeft = await killAll();
    await Promise.race([closed, sleep(noneLeft ? DRAIN_ALL_DEAD_MS : DRAIN_MS)]);
    output.destroy();
    const oomAfter = oomKills();
    // A shell reports its killed child as exit code 137, so the counter, not the signal, tells.
    const oom = oomBefore >= 0 && oomAfter > oomBefore;
    const tailBuf = total > forwarded ? Buffer.concat(tail).subarray(-tailLimit) : undefined;
    busy = false;
    send({
      t: 'exit',
      id: req.id,
      code: exit.code,
      signal: exit.signal,
      timedOut,
      oom,
      // The container's count so far: the runner tells a later container death from an earlier kill with it.
      oomCount: oomAfter,
      total,
      tail: tailBuf ? tailBuf.toString('base64') : null,
      ms: Date.now() - started,
      ...(exit.error ? { error: `cannot start the command: ${exit.error}` } : {}),
    });
  };

  const bye = async () => {
    signalAll('SIGKILL');
    await killAll();
    process.exit(0);
  };

  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    pending += text;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      let req: Request;
      try {
        req = JSON.parse(line) as Request;
      } catch {
        send({ t: 'error', error: `not JSON: ${line.slice(0, 100)}` });
        continue;
      }
      if (req.t === 'run') void run(req);
      else if (req.t === 'bye') void bye();
    }
  });
  // The runner went away (its attach connection closed stdin): nothing may outlive it.
  process.stdin.on('end', () => void bye());
  send({ t: 'ready', pid: process.pid, uid: process.getuid?.() ?? -1, node: process.version, oomCount: oomKills() });
}

/** The `node` arguments that start the server: its source as one `-e` script. */
export function commandServerArgs(): string[] {
  return ['-e', `(${commandServerMain.toString()})()`, 'agency-command-server'];
}
