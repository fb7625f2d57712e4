import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../src/agent-runner.config.js';
import { ProcessSandbox, sandboxEnv } from '../src/sandbox/process.sandbox.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z /.test(stat);
}

describe('ProcessSandbox with real child processes', () => {
  let dir: TempDir;
  let sandbox: ProcessSandbox;

  beforeEach(() => {
    dir = tempDir('sandbox-');
    sandbox = new ProcessSandbox({ TEST_OUTPUT_MAX_BYTES: 1_000_000 } as AgentRunnerConfig);
  });

  afterEach(() => {
    sandbox.onApplicationShutdown();
    dir.remove();
  });

  it('runs sh -c in the workspace and returns exit code and interleaved output', async () => {
    const chunks: string[] = [];
    const r = await sandbox.run({ command: 'pwd; echo to-stderr >&2; exit 3', workspace: dir.path, timeoutMs: 10_000, onOutput: (c) => chunks.push(c) });
    expect(r).toMatchObject({ exitCode: 3, timedOut: false, truncated: false });
    expect(r.output).toContain(dir.path);
    expect(r.output).toContain('to-stderr');
    expect(chunks.join('')).toBe(r.output);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('kills the whole process group at the timeout, grandchildren included', async () => {
    const started = Date.now();
    const r = await sandbox.run({ command: 'sleep 300 & echo $! > bg.pid; echo started; sleep 300', workspace: dir.path, timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGTERM');
    expect(r.exitCode).toBe(143);
    expect(r.output).toBe('started\n');
    // Not the 300 s of the sleep: killed, not waited for.
    expect(Date.now() - started).toBeLessThan(60_000);
    const pid = Number(readFileSync(join(dir.path, 'bg.pid'), 'utf8'));
    await expectEventually(() => expect(isAlive(pid)).toBe(false), { message: `background sleep ${pid} killed` });
  });

  it('uses SIGKILL for a command that ignores SIGTERM', async () => {
    const started = Date.now();
    const r = await sandbox.run({ command: "trap '' TERM; echo stubborn; while :; do sleep 0.1; done", workspace: dir.path, timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(r.exitCode).toBe(137);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('kills what a finished command left running, and does not wait for it', async () => {
    const started = Date.now();
    const r = await sandbox.run({ command: 'sleep 300 & echo $! > left.pid; echo done', workspace: dir.path, timeoutMs: 20_000 });
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, output: 'done\n' });
    // Not the 300 s of the sleep: killed, not waited for.
    expect(Date.now() - started).toBeLessThan(60_000);
    const pid = Number(readFileSync(join(dir.path, 'left.pid'), 'utf8'));
    await expectEventually(() => expect(isAlive(pid)).toBe(false));
  });

  it('keeps the output within its bound: the start, a marker, the end', async () => {
    const r = await sandbox.run({ command: 'echo FIRST; i=0; while [ $i -lt 5000 ]; do echo "line $i padding padding"; i=$((i+1)); done; echo LAST', workspace: dir.path, timeoutMs: 20_000, maxOutputBytes: 4000 });
    expect(r.truncated).toBe(true);
    expect(r.outputBytes).toBeGreaterThan(100_000);
    expect(r.output.startsWith('FIRST\n')).toBe(true);
    expect(r.output.endsWith('LAST\n')).toBe(true);
    expect(r.output).toMatch(/\[\.\.\. \d+ bytes of output omitted \.\.\.\]/);
    expect(r.output.length).toBeLessThan(4200);
  });

  it('gives the command a minimal environment: no service secrets', async () => {
    const secret = 'sk-should-not-leak';
    process.env.LLM_GATEWAY_API_KEY = secret;
    process.env.NATS_URL = 'nats://secret-host:4222';
    try {
      const r = await sandbox.run({ command: 'env', workspace: dir.path, timeoutMs: 10_000, env: { EXTRA: 'yes' } });
      expect(r.output).not.toContain(secret);
      expect(r.output).not.toContain('NATS_URL');
      expect(r.output).toContain('EXTRA=yes');
      expect(r.output).toContain('CI=true');
      expect(r.output).toMatch(/^PATH=/m);
    } finally {
      delete process.env.LLM_GATEWAY_API_KEY;
      delete process.env.NATS_URL;
    }
    expect(Object.keys(sandboxEnv({}, { PATH: '/bin', SECRET_TOKEN: 'x', HOME: '/h' })).sort()).toEqual(['CI', 'FORCE_COLOR', 'HOME', 'NO_COLOR', 'PATH']);
  });

  it('refuses a workspace that does not exist, naming it', async () => {
    await expect(sandbox.run({ command: 'true', workspace: join(dir.path, 'missing'), timeoutMs: 1000 })).rejects.toThrow(`sandbox workspace ${join(dir.path, 'missing')} is not a directory`);
  });
});
