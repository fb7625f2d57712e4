import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { natsServerParentEnv } from './child-env.js';

export interface NatsProcess {
  url: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export interface StartNatsOptions {
  port?: number;
  binary?: string;
  /** A configuration file (e.g. the agency's users and permissions); the flags above still apply. */
  configFile?: string;
  /** Added to nats-server's allowlisted environment (the passwords its configuration names). */
  env?: Record<string, string>;
  /** nats-server's log (connections, refused credentials, permission violations). */
  logFile?: string;
}

/** Starts `nats-server -js` with its store under `storeDir`; a clear error when it is not installed. */
export async function startNats(storeDir: string, options: StartNatsOptions = {}): Promise<NatsProcess> {
  const binary = options.binary ?? process.env.NATS_SERVER_BIN ?? 'nats-server';
  const port = options.port ?? (await freePort());
  mkdirSync(storeDir, { recursive: true });
  // Its environment is an allowlist: nats-server must never hold the secrets of the process that starts it.
  const args = [
    ...(options.configFile ? ['-c', options.configFile] : []),
    ...(options.logFile ? ['-l', options.logFile] : []),
    '-js',
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-sd',
    storeDir,
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...natsServerParentEnv(process.env), ...options.env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'ENOENT'
            ? `nats-server is not installed. Install it (Debian/Ubuntu: apt-get install nats-server; or https://nats.io/download) or point NATS_URL at a NATS server with JetStream.`
            : `cannot start nats-server: ${e.message}`,
        ),
      ),
    );
    child.once('exit', (code) => reject(new Error(`nats-server exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`)));
  });
  const ready = (async () => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (await portOpen(port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nats-server did not open port ${port} within 15 s`);
  })();
  await Promise.race([ready, failed]);
  failed.catch(() => undefined);
  return {
    url: `nats://127.0.0.1:${port}`,
    child,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      await gone;
    },
  };
}
