import { randomUUID } from 'node:crypto';
import { chownSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@agency/telemetry';
import { expectEventually } from '@agency/testing';
import { LABELS } from '../src/sandbox/docker/container-spec.js';
import { DockerSandbox } from '../src/sandbox/docker/docker.sandbox.js';
import { SlotDirectories } from '../src/sandbox/docker/slot-directories.js';
import type { SandboxSession } from '../src/sandbox/sandbox.js';
import { SandboxImages } from '../src/sandbox/sandbox-images.js';
import { WorktreeOwner } from '../src/sandbox/worktree-owner.js';
import { startSandboxRig, type SandboxRig } from './support/docker-sandbox.js';

describe('DockerSandbox against a real Docker engine', () => {
  let rig: SandboxRig;
  let session: SandboxSession;
  let workspace: string;

  beforeAll(async () => {
    rig = await startSandboxRig();
    workspace = rig.workspace('job-main', { 'README.md': 'hello from the host\n', 'src/a.js': 'export const a = 1;\n' });
    session = await rig.sandbox.open({ workspace, jobId: 'job-main' });
  });

  afterAll(async () => {
    await session?.close();
    await rig?.dispose();
  });

  const run = (command: string, timeoutMs = 30_000, maxOutputBytes?: number) =>
    session.exec({ command, timeoutMs, ...(maxOutputBytes ? { maxOutputBytes } : {}) });

  it('runs in the worktree at /workspace/repo as an unprivileged user, with the host files and back', async () => {
    const r = await run('pwd; id -u; cat README.md; echo from-sandbox > made-inside.txt');
    expect(r).toMatchObject({ exitCode: 0, timedOut: false });
    expect(r.output).toBe(`/workspace/repo\n1000\nhello from the host\n`);
    expect(session.workdir).toBe('/workspace/repo');
    // During the session the worktree's usual path leads into the container's slot.
    expect(lstatSync(workspace).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(workspace, 'made-inside.txt'), 'utf8')).toBe('from-sandbox\n');
  });

  it('is hardened: no capabilities, no new privileges, an init as pid 1, read-only root, writable /tmp as HOME', async () => {
    const r = await run("grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status; cat /proc/1/comm; echo HOME=$HOME; touch /tmp/ok && echo tmp-ok");
    expect(r.output).toContain('CapEff:\t0000000000000000');
    expect(r.output).toContain('CapPrm:\t0000000000000000');
    expect(r.output).toContain('NoNewPrivs:\t1');
    expect(r.output).toMatch(/^docker-init$/m);
    expect(r.output).toContain('HOME=/tmp');
    expect(r.output).toContain('tmp-ok');
  });

  it('cannot write outside /workspace: the root file system is read-only', async () => {
    for (const target of ['/etc/evil', '/usr/local/bin/evil', '/home/agent/evil', '/evil', '/var/evil']) {
      const r = await run(`echo x > ${target} && echo WROTE`);
      expect(r.exitCode, target).not.toBe(0);
      expect(r.output, target).toMatch(/Read-only file system|Permission denied/);
      expect(r.output).not.toContain('WROTE');
    }
    expect((await run('mkdir /opt/evil')).exitCode).not.toBe(0);
  });

  it('has no network: a connection attempt from inside fails', async () => {
    const r = await run(
      `node -e "require('net').connect(80, '1.1.1.1').on('connect', () => { console.log('CONNECTED'); process.exit(0) }).on('error', (e) => { console.log('refused', e.code); process.exit(3) })"`,
    );
    expect(r.exitCode).toBe(3);
    expect(r.output).toMatch(/refused (ENETUNREACH|EHOSTUNREACH|ECONNREFUSED)/);
    const ifaces = await run('ls /sys/class/net');
    expect(ifaces.output.trim()).toBe('lo');
    // Not even the Docker host's bridge address answers.
    const bridge = await run("node -e \"require('net').connect(2375, '172.17.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(3))\"");
    expect(bridge.exitCode).toBe(3);
  });

  it('runs npm offline: npx of a package that is not installed fails at once with ENOTCACHED, not after a DNS timeout (71 s in a relay trial)', async () => {
    const r = await run('npx --yes not-a-real-package-agency-7f3a --version; echo "exit $?"');
    expect(r.output).toContain('ENOTCACHED');
    expect(r.output).not.toContain('EAI_AGAIN');
    expect(r.output).toMatch(/exit [1-9]/);
  });

  it('resolves localhost and serves on it, as test runners need (vitest failed with EAI_AGAIN without /etc/hosts)', async () => {
    const server =
      "const s = require('http').createServer((q, r) => r.end('up')).listen(0, 'localhost', () => require('http').get({ host: 'localhost', port: s.address().port }, (r) => r.on('data', (d) => { console.log('got ' + d); process.exit(0); })))";
    const r = await run(`node -e "${server}"`);
    expect(r.output.trim()).toBe('got up');
    expect(r.exitCode).toBe(0);
  });

  it('sees no host secret in its environment or file system', async () => {
    const secret = `sk-test-${randomUUID()}`;
    process.env.AGENCY_FAKE_SECRET = secret;
    process.env.LLM_GATEWAY_API_KEY = secret;
    try {
      // A fresh session, opened while the secret is in the runner's environment.
      const other = await rig.sandbox.open({ workspace: rig.workspace('job-secret'), jobId: 'job-secret' });
      try {
        const r = await other.exec({
          command: `env; cat /proc/1/environ | tr '\\0' '\\n'; grep -rIl -- '${secret.slice(0, 12)}' /etc /tmp /home /run /workspace 2>/dev/null; ls /var/run/docker.sock 2>&1`,
          timeoutMs: 30_000,
        });
        expect(r.output).not.toContain(secret);
        expect(r.output).not.toContain('AGENCY_FAKE_SECRET');
        expect(r.output).not.toContain('LLM_GATEWAY_API_KEY');
        expect(r.output).not.toContain('NATS_URL');
        expect(r.output).toContain('No such file or directory');
      } finally {
        await other.close();
      }
    } finally {
      delete process.env.AGENCY_FAKE_SECRET;
      delete process.env.LLM_GATEWAY_API_KEY;
    }
  });

  it('keeps its command server out of reach of the commands: no ptrace, no reading its memory or environment', async () => {
    // The command's parent is the server. Plain node would be dumpable, so a command running as
    // the same user could attach to it (and keep processes alive past the clean-up, or lie about
    // results); the image's unreadable copy of node makes it non-dumpable.
    const attach =
      'python3 -c "import ctypes,sys; c=ctypes.CDLL(None,use_errno=True); r=c.ptrace(16,int(sys.argv[1]),0,0); print(\'attach\', r, ctypes.get_errno())" $PPID';
    const r = await run(
      `ps -o args= -p $PPID | cut -c1-40; ${attach}; cat /proc/$PPID/environ > /dev/null && echo ENVIRON-READ; head -c1 /proc/$PPID/mem > /dev/null 2>&1 && echo MEM-READ; ls /proc/$PPID/fd > /dev/null 2>&1 && echo FDS-LISTED; echo done`,
    );
    expect(r.output).toMatch(/^\/usr\/local\/lib\/agency-server-node -e/m);
    expect(r.output).toContain('attach -1 1\n'); // EPERM
    expect(r.output).not.toMatch(/ENVIRON-READ|MEM-READ|FDS-LISTED/);
    expect(r.output).toContain('done');
    // A process the command starts itself stays the command's to trace: only the server is shielded.
    const own = await run(
      `sleep 30 & p=$!; python3 -c "import ctypes,sys; c=ctypes.CDLL(None,use_errno=True); print('own', c.ptrace(16,int(sys.argv[1]),0,0))" $p; kill -9 $p`,
    );
    expect(own.output).toContain('own 0');
  });

  it('keeps all the output of a program that writes in many small pieces and exits at once (uvu lost its summary)', async () => {
    // Many small writes, then process.exit(): node queues what the descriptor does not take at once
    // and drops it at exit, unless the descriptor is a real pipe (written synchronously).
    const writer =
      "for (let i = 0; i < 400; i++) process.stdout.write('line ' + String(i).padStart(3, '0') + ' ' + 'x'.repeat(60) + '\\n'); process.stdout.write('SUMMARY 400 passed\\n'); process.exit(0)";
    for (let round = 0; round < 3; round += 1) {
      const r = await run(`node -e "${writer}"`);
      expect(r.exitCode).toBe(0);
      expect(r.output.split('\n').filter((l) => l.startsWith('line '))).toHaveLength(400);
      expect(r.output.endsWith('SUMMARY 400 passed\n')).toBe(true);
    }
  });

  it('kills an endless loop at the timeout, reports timedOut, and leaves nothing running', async () => {
    // It ignores SIGTERM, so only the SIGKILL after the grace period ends it. (A limit of a few
    // seconds: on a loaded machine the shell must have set its trap before the limit passes.)
    const r = await run("trap '' TERM; echo spinning; sleep 600 & while :; do :; done", 5000);
    expect(r, r.output).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: 137 });
    expect(r.output).toBe('spinning\n');
    // Dead processes may linger a moment as zombies until the init reaps them; none may still run.
    const ps = await run("ps -eo stat=,comm= | grep -v '^Z'");
    expect(ps.output).not.toMatch(/sleep/);
    expect((await run('echo still-usable')).output).toBe('still-usable\n');
  });

  it('contains a fork bomb with the process limit; the sandbox stays usable', async () => {
    const limit = await run('cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max');
    expect(limit.output.trim()).toBe('64');
    const r = await run('bomb() { bomb | bomb & }; bomb; sleep 3; echo survived', 8000);
    // Forks failed at the limit (the shell may have ended on its own or at the timeout); no process is left.
    expect(r.output).toContain('Cannot fork');
    const after = await run("ps -eo stat= | grep -vc '^Z'; echo ok");
    expect(after.exitCode, after.output).toBe(0);
    expect(after.output).toMatch(/ok\n$/);
    expect(Number(after.output.split('\n')[0])).toBeLessThan(10);
  });

  it('kills a memory hog at the memory limit and says so', async () => {
    const r = await run('node -e "const a = []; for (;;) a.push(Buffer.alloc(16 * 1024 * 1024, 1))"', 60_000);
    // The shell reports its child's SIGKILL as exit code 137; the cgroup's OOM counter says why.
    expect(r).toMatchObject({ exitCode: 137, timedOut: false, oomKilled: true });
    expect((await run('echo alive')).output).toBe('alive\n');
  });

  it('streams output as it comes and keeps its start and end within the bound', async () => {
    const chunks: string[] = [];
    const r = await session.exec({ command: 'echo FIRST; seq 1 200000; echo LAST', timeoutMs: 30_000, maxOutputBytes: 4000, onOutput: (c) => chunks.push(c) });
    expect(r.truncated).toBe(true);
    expect(r.outputBytes).toBeGreaterThan(1_000_000);
    expect(r.output.startsWith('FIRST\n1\n2\n')).toBe(true);
    expect(r.output.endsWith('199999\n200000\nLAST\n')).toBe(true);
    expect(r.output).toMatch(/\[\.\.\. \d+ bytes of output omitted \.\.\.\]/);
    expect(r.output.length).toBeLessThan(4200);
    // Streamed live, but never more than the bound crossed the wire.
    expect(chunks.join('').startsWith('FIRST\n')).toBe(true);
    expect(chunks.join('').length).toBeLessThanOrEqual(4000);
  });

  it("takes containers from the warm pool, one job never sees another job's files, and a closed session gives the worktree back", async () => {
    const pool = rig.sandbox.poolFor(rig.config.SANDBOX_IMAGE, { uid: 1000, gid: 1000 });
    await expectEventually(() => expect(pool.readyCount).toBe(1), { timeoutMs: 60_000, message: 'a warm container' });
    const dirB = rig.workspace('job-b', { 'b-only.txt': 'b\n' });
    const b = await rig.sandbox.open({ workspace: dirB, jobId: 'job-b' });
    const seen = await b.exec({ command: 'ls -A /workspace; ls -A /workspace/repo; ls / ', timeoutMs: 30_000 });
    expect(seen.output.split('\n').slice(0, 2)).toEqual(['repo', 'b-only.txt']);
    expect(seen.output).not.toContain('made-inside.txt');
    await expectEventually(async () => expect((await rig.containers()).some((n) => n.includes('job-b'))).toBe(true), {
      message: 'container renamed after its job',
    });
    await b.close();
    expect(statSync(dirB).isDirectory()).toBe(true);
    expect(lstatSync(dirB).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dirB, 'b-only.txt'), 'utf8')).toBe('b\n');
    await expectEventually(async () => expect((await rig.containers()).some((n) => n.includes('job-b'))).toBe(false), { message: 'job-b container removed' });
  });

  // Only a root runner writes files the sandbox user does not own (a non-root runner is that user).
  it.runIf(process.getuid?.() === 0)(
    'lets the sandbox user rewrite files the runner wrote as root into a worktree it had handed over (vitest -u in a trial: EACCES)',
    async () => {
      const dir = rig.workspace('job-root-files', { 'test/a.test.ts': 'old\n', 'node_modules/x/index.js': 'x\n' });
      // As after an earlier session: the directories are the sandbox user's; then the runner's git (root) rewrote a file.
      chownSync(dir, rig.config.SANDBOX_UID, rig.config.SANDBOX_GID);
      chownSync(join(dir, 'test'), rig.config.SANDBOX_UID, rig.config.SANDBOX_GID);
      const s = await rig.sandbox.open({ workspace: dir, jobId: 'job-root-files' });
      try {
        const r = await s.exec({ command: 'echo new > test/a.test.ts && echo REWROTE', timeoutMs: 30_000 });
        expect(r.output).toContain('REWROTE');
      } finally {
        await s.close();
      }
      expect(readFileSync(join(dir, 'test', 'a.test.ts'), 'utf8')).toBe('new\n');
      // node_modules is the sandbox's own: not walked (the runner leaves what it finds there).
      expect(statSync(join(dir, 'node_modules', 'x', 'index.js')).uid).toBe(0);
    },
  );

  it('replaces a container whose server a command killed, and goes on', async () => {
    const r = await run('kill -9 -1; sleep 5');
    expect(r.exitCode).toBe(137);
    expect(r.output).toContain('the sandbox container ended during the command');
    const again = await run('cat README.md');
    expect(again).toMatchObject({ exitCode: 0, output: 'hello from the host\n' });
  });

  it('refuses a second session on a worktree that is already in one', async () => {
    await expect(rig.sandbox.open({ workspace, jobId: 'job-main' })).rejects.toThrow('is already in a sandbox');
  });

  it('gives stranded worktrees back and removes orphaned containers when a runner starts again', async () => {
    const dir = rig.workspace('job-stranded', { 'keep.txt': 'kept\n' });
    const stranded = await rig.sandbox.open({ workspace: dir, jobId: 'job-stranded' });
    await stranded.exec({ command: 'echo more > more.txt', timeoutMs: 30_000 });
    expect(lstatSync(dir).isSymbolicLink()).toBe(true);
    const before = await rig.containers();
    expect(before.length).toBeGreaterThan(0);
    // A second runner with the same owner starts (the first "crashed" without closing anything).
    const config = { ...rig.config, SANDBOX_POOL_SIZE: 0 };
    const restarted = new DockerSandbox(
      config,
      rig.engine,
      new SlotDirectories(config),
      new SandboxImages(config),
      new WorktreeOwner(config),
      rig.reaper,
      createLogger({ service: 'test', level: 'silent' }),
    );
    await restarted.onModuleInit();
    // Every container of the first life is gone (its pool may have started a fresh one since).
    const after = await rig.containers();
    expect(after.filter((n) => before.includes(n))).toEqual([]);
    expect(lstatSync(dir).isDirectory()).toBe(true);
    expect(readFileSync(join(dir, 'more.txt'), 'utf8')).toBe('more\n');
    expect(lstatSync(workspace).isDirectory()).toBe(true);
    // No slot is left without a container: the first life's pool, still alive in this process,
    // may refill with a fresh container (slot first, container next), so this is polled.
    await expectEventually(
      async () => {
        const live = new Set((await rig.engine.list([`${LABELS.owner}=${rig.config.SANDBOX_OWNER}`])).map((c) => c.labels[LABELS.slot]));
        expect(readdirSync(join(rig.work.path, 'sandbox', 'slots')).filter((slot) => !live.has(slot))).toEqual([]);
      },
      { timeoutMs: 60_000, message: 'only slots of live containers' },
    );
    await restarted.onApplicationShutdown();
  });
});
