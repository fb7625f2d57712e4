import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expectEventually, freePort } from '@agency/testing';

export const ROOT = resolve(import.meta.dirname, '../../../..');
export const RUNNER_MAIN = join(ROOT, 'dist/apps/agent-runner/src/main.js');
export const NODE = join(ROOT, 'node_modules/.bin/node');

/** The projects the built runner needs (tools/build.mjs only compiles what changed). */
export function buildRunner(): void {
  execFileSync(
    NODE,
    [
      join(ROOT, 'tools/build.mjs'),
      '--quiet',
      'apps/agent-runner',
      'libs/contracts',
      'libs/messaging',
      'libs/telemetry',
      'libs/config',
      'libs/vault',
      'libs/llm-client',
      'libs/bootstrap',
      'libs/git',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

/** The group that may use the Docker engine's socket: a non-root runner gets it as its group, as deploy/k8s gives the docker group. */
export function dockerSocketGid(): number {
  const socket = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
  return statSync(socket).gid;
}

/** Gives a directory tree to a user (lchown: links themselves, never their targets). */
export function chownTreeTo(dir: string, uid: number, gid: number): void {
  const info = lstatSync(dir);
  chownSync(dir, uid, gid);
  if (info.isDirectory())
    for (const name of readdirSync(dir)) {
      const child = join(dir, name);
      if (lstatSync(child).isSymbolicLink()) continue;
      chownTreeTo(child, uid, gid);
    }
}

/** The settings every spawned runner of these tests has: its bus, disk, model endpoint and Docker sandbox. */
export function runnerEnv(base: {
  natsUrl: string;
  workDir: string;
  llmUrl: string;
  apiKey: string;
  sandboxOwner: string;
  vaultPath: string;
}): Record<string, string> {
  return {
    NATS_URL: base.natsUrl,
    VAULT_PATH: base.vaultPath,
    WORK_DIR: base.workDir,
    LLM_GATEWAY_URL: base.llmUrl,
    LLM_GATEWAY_API_KEY: base.apiKey,
    HEARTBEAT_SECONDS: '1',
    SANDBOX: 'docker',
    SANDBOX_OWNER: base.sandboxOwner,
    SANDBOX_POOL_SIZE: '1',
  };
}

export interface SpawnedRunner {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/**
 * The runner as production runs it: the compiled service as its own process, optionally as
 * another user (`uid`/`gid`: the tests run as root, deploy/k8s runs the runner as uid 1000).
 */
export async function spawnRunner(env: Record<string, string>, user?: { uid: number; gid: number }): Promise<SpawnedRunner> {
  const port = await freePort();
  const child = spawn(NODE, ['--enable-source-maps', RUNNER_MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  await expectEventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`runner exited with ${child.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(res.status).toBe(200);
    },
    { timeoutMs: 60_000, intervalMs: 200, message: 'runner ready' },
  );
  return {
    child,
    port,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await expectEventually(() => expect(child.exitCode !== null || child.signalCode !== null).toBe(true), { timeoutMs: 30_000, message: 'runner stopped' });
    },
  };
}
