import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { expectEventually, freePort } from '@agency/testing';

export interface DashboardProcess {
  url: string;
  child: ChildProcess;
}

/**
 * The built dashboard (dist/) as a process of its own on a free port, its output appended to
 * `logFile`; resolves once it says it is ready. `env` is all it sees beside PATH, host and port.
 */
export async function startDashboard(rootDir: string, logFile: string, env: Record<string, string>): Promise<DashboardProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--enable-source-maps', join(rootDir, 'dist', 'apps', 'dashboard', 'src', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  await expectEventually(async () => expect((await fetch(`${url}/health/ready`)).status).toBe(200), { timeoutMs: 60_000, message: 'dashboard ready' });
  return { url, child };
}

/** Stops it (SIGTERM) and waits for it to exit. */
export async function stopDashboard(dashboard: DashboardProcess | undefined): Promise<void> {
  const child = dashboard?.child;
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}
