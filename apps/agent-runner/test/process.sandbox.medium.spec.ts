import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../src/agent-runner.config.js';
import { probeIsolation } from '../src/sandbox/process-isolation.js';
import { ProcessSandbox, sandboxEnv } from '../src/sandbox/process.sandbox.js';
import { WorktreeOwner } from '../src/sandbox/worktree-owner.js';
import { isAlive, processesMatching } from './support/processes.js';

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

  it("kills a cancelled job's command and refuses every later one of that job, not another job's", async () => {
    const session = await sandbox.open({ workspace: dir.path, jobId: 'job-ended' });
    const running = session.exec({ command: 'echo started; sleep 600', timeoutMs: 600_000 });
    await expectEventually(async () => expect(await sandbox.closeJob('job-ended')).toBe(1), { message: 'the command running' });
    expect((await running).exitCode).not.toBe(0);
    // Work of the job between two sessions (the warm-up's setup, archive, tests at the base) gets no new command.
    await expect(session.exec({ command: 'echo again', timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    const later = await sandbox.open({ workspace: dir.path, jobId: 'job-ended' });
    await expect(later.exec({ command: 'echo later', timeoutMs: 10_000 })).rejects.toThrow('job job-ended was cancelled');
    expect((await sandbox.run({ command: 'echo other', workspace: dir.path, jobId: 'job-other', timeoutMs: 10_000 })).output).toContain('other');
  });

  it('keeps all the output of a program that writes in many small pieces and exits at once (uvu lost its summary)', async () => {
    const writer =
      "for (let i = 0; i < 400; i++) process.stdout.write('line ' + String(i).padStart(3, '0') + ' ' + 'x'.repeat(60) + '\\n'); process.stdout.write('SUMMARY 400 passed\\n'); process.exit(0)";
    for (let round = 0; round < 3; round += 1) {
      const r = await sandbox.run({ command: `node -e "${writer}"`, workspace: dir.path, timeoutMs: 30_000 });
      expect(r.exitCode).toBe(0);
      expect(r.output.split('\n').filter((l) => l.startsWith('line '))).toHaveLength(400);
      expect(r.output.endsWith('SUMMARY 400 passed\n')).toBe(true);
    }
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
    const r = await sandbox.run({
      command: 'echo FIRST; i=0; while [ $i -lt 5000 ]; do echo "line $i padding padding"; i=$((i+1)); done; echo LAST',
      workspace: dir.path,
      timeoutMs: 20_000,
      maxOutputBytes: 4000,
    });
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
      // No colour switch of the sandbox's own: a repository's colour tests see what its CI sees (commander.js trial).
      expect(r.output).not.toMatch(/^(NO_COLOR|FORCE_COLOR)=/m);
      expect(r.output).toMatch(/^PATH=/m);
    } finally {
      delete process.env.LLM_GATEWAY_API_KEY;
      delete process.env.NATS_URL;
    }
    expect(Object.keys(sandboxEnv({}, { PATH: '/bin', SECRET_TOKEN: 'x', HOME: '/h' })).sort()).toEqual(['CI', 'HOME', 'PATH', 'npm_config_offline']);
  });

  it('refuses a workspace that does not exist, naming it', async () => {
    await expect(sandbox.run({ command: 'true', workspace: join(dir.path, 'missing'), timeoutMs: 1000 })).rejects.toThrow(
      `sandbox workspace ${join(dir.path, 'missing')} is not a directory`,
    );
  });
});

/**
 * SANDBOX=process where the host allows no namespaces, the runner as root: each command still runs
 * as SANDBOX_UID/GID with a scrubbed environment, so root's environment (the gateway key) and files
 * are out of its reach.
 */
describe('ProcessSandbox without namespaces (runner as root)', () => {
  let work: TempDir;
  let worktree: string;
  let sandbox: ProcessSandbox;

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests run as root, as the project's test machines do");
  });

  beforeEach(() => {
    work = tempDir('process-plain-');
    worktree = join(work.path, 'worktrees', 'job-1');
    mkdirSync(worktree, { recursive: true });
    writeFileSync(join(worktree, 'a.txt'), 'a\n');
    writeFileSync(join(work.path, 'root-only.txt'), 'secret\n', { mode: 0o600 });
    const config = { TEST_OUTPUT_MAX_BYTES: 1_000_000, WORK_DIR: work.path, SANDBOX_UID: 1000, SANDBOX_GID: 1000 } as AgentRunnerConfig;
    sandbox = new ProcessSandbox(config, { isolation: 'none', owner: new WorktreeOwner(config) });
  });

  afterEach(() => {
    sandbox.onApplicationShutdown();
    work.remove();
  });

  it("runs as the sandbox user, not root: the runner's environment and root's files are refused, the worktree is its own", async () => {
    process.env.LLM_GATEWAY_API_KEY = 'sk-canary-plain-sandbox';
    try {
      const r = await sandbox.run({
        command: `id -u; id -g; echo "home=$HOME"; cat /proc/$PPID/environ; cat ${join(work.path, 'root-only.txt')}; echo b > b.txt && echo wrote`,
        workspace: worktree,
        jobId: 'job-1',
        timeoutMs: 20_000,
      });
      const lines = r.output.split('\n');
      expect(lines.slice(0, 3)).toEqual(['1000', '1000', 'home=/tmp']);
      expect(r.output).not.toContain('sk-canary-plain-sandbox');
      expect(r.output).not.toContain('secret');
      expect(r.output).toMatch(/environ: Permission denied/);
      expect(r.output).toMatch(/root-only\.txt: Permission denied/);
      expect(r.output).toContain('wrote');
      expect(statSync(join(worktree, 'b.txt')).uid).toBe(1000);
    } finally {
      delete process.env.LLM_GATEWAY_API_KEY;
    }
  });
});

/**
 * SANDBOX=process with namespaces, the runner as root (as in these tests): each command runs as
 * SANDBOX_UID/GID in namespaces of its own (see process-isolation.ts).
 */
describe('ProcessSandbox in namespaces (runner as root)', () => {
  let work: TempDir;
  let worktree: string;
  let sandbox: ProcessSandbox;

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests run as root, as the project's test machines do");
    expect(probeIsolation().mode).toBe('root');
  });

  beforeEach(() => {
    work = tempDir('process-ns-');
    worktree = join(work.path, 'worktrees', 'job-1');
    mkdirSync(worktree, { recursive: true });
    writeFileSync(join(worktree, 'a.txt'), 'a\n');
    mkdirSync(join(work.path, 'mirrors', 'm.git'), { recursive: true });
    writeFileSync(join(work.path, 'mirrors', 'm.git', 'config'), '[core]\n');
    const config = { TEST_OUTPUT_MAX_BYTES: 1_000_000, WORK_DIR: work.path, SANDBOX_TMP_MB: 16, SANDBOX_UID: 1000, SANDBOX_GID: 1000 } as AgentRunnerConfig;
    sandbox = new ProcessSandbox(config, { isolation: 'root', owner: new WorktreeOwner(config) });
  });

  afterEach(() => {
    sandbox.onApplicationShutdown();
    work.remove();
  });

  const run = (command: string, timeoutMs = 20_000) => sandbox.run({ command, workspace: worktree, jobId: 'job-1', timeoutMs });

  it('runs the command as the sandbox user, in the worktree, which it may change', async () => {
    const r = await run('id -u; id -g; id -G; pwd; cat a.txt; echo b > b.txt');
    expect(r).toMatchObject({ exitCode: 0, output: `1000\n1000\n1000\n${worktree}\na\n` });
    expect(statSync(join(worktree, 'b.txt')).uid).toBe(1000);
  });

  it('hides the rest of WORK_DIR (the mirrors, other worktrees), the host /tmp and the network', async () => {
    writeFileSync(join(tmpdir(), `agency-host-tmp-${process.pid}`), 'host');
    const r = await run(
      `ls ${work.path}/mirrors 2>&1; ls ${work.path}/worktrees; git config --file ${work.path}/mirrors/m.git/config filter.x.clean 'touch /tmp/x' 2>&1; ls /tmp; cat /proc/1/environ 2>&1 | tr '\\0' ' '; node -e "require('net').connect(4222, '127.0.0.1').on('connect', () => console.log('CONNECTED')).on('error', (e) => console.log('no network:', e.code))"`,
    );
    expect(r.output).toContain(`ls: cannot access '${work.path}/mirrors': No such file or directory`);
    expect(r.output).toMatch(/^job-1$/m);
    expect(r.output).not.toContain(`agency-host-tmp-${process.pid}`);
    expect(r.output).toContain('Permission denied');
    expect(r.output).toMatch(/no network: E(NETUNREACH|CONNREFUSED)/);
    expect(r.output).not.toContain('CONNECTED');
    expect(readFileSync(join(work.path, 'mirrors', 'm.git', 'config'), 'utf8')).toBe('[core]\n');
  });

  it('kills what a command left running, a setsid daemon that cleared its environment included', async () => {
    const r = await run('setsid env -i sleep 3127 & echo started $!; sleep 3128 & echo done');
    expect(r).toMatchObject({ exitCode: 0, timedOut: false });
    expect(r.output).toMatch(/^started \d+$/m);
    // The namespace died with the command: no process of it is left on the host.
    expect(processesMatching(/^sleep 312[78]$/)).toEqual([]);
  });

  it('ends a command at its time limit with SIGTERM, then SIGKILL for one that ignores it', async () => {
    const polite = await run('sleep 300 & wait', 500);
    expect(polite).toMatchObject({ timedOut: true, exitCode: 143, signal: 'SIGTERM' });
    const stubborn = await run("trap '' TERM; while :; do sleep 0.1; done", 500);
    expect(stubborn.timedOut).toBe(true);
    expect(stubborn.exitCode).toBe(137);
    expect(processesMatching(/^sleep (300|0\.1)$/)).toEqual([]);
  });
});
