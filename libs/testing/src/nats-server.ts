import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { expectEventually } from './eventually.js';
import { freePort } from './ports.js';
import { tempDir, type TempDir } from './temp-dir.js';

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server the hard way (SIGKILL) or gracefully (SIGTERM). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and store, as after a crash. */
  restart(): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A nats-server with JetStream of the test's own: its own port and store, never shared. */
export async function startNatsServer(options: { binary?: string } = {}): Promise<NatsServerHandle> {
  const binary = options.binary ?? process.env.NATS_SERVER_BIN ?? 'nats-server';
  const port = await freePort();
  const dir: TempDir = tempDir('nats-');
  const storeDir = join(dir.path, 'js');
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async () => {
    output = '';
    child = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only what it needs: tests set canary secrets in their own environment.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.TZ ? { TZ: process.env.TZ } : {}) },
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<never>((_, reject) => child!.once('error', (e) => reject(new Error(`cannot start ${binary}: ${e.message}`))));
    await Promise.race([
      exited,
      expectEventually(
        async () => {
          if (child?.exitCode !== null) throw new Error(`nats-server exited: ${output}`);
          if (!(await portOpen(port)) || !/Server is ready/.test(output)) throw new Error('not ready yet');
        },
        { timeoutMs: 15_000, message: `nats-server on port ${port}` },
      ),
    ]);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await gone;
  };

  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    restart: launch,
    dispose: async () => {
      await stop('SIGKILL');
      dir.remove();
    },
  };
}
