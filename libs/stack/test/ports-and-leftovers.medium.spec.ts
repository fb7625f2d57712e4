import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { freePort, tempDir, type TempDir } from '@agency/testing';
import { processStartTime, reapLeftoverProcesses, reapSandboxes, SANDBOX_LABEL, SANDBOX_OWNER_LABEL, StackRunningError } from '../src/leftovers.js';
import { LocalStack } from '../src/local-stack.js';
import { assertPortsFree, portHolder, portState, PortTakenError } from '../src/port-holder.js';

// Real sockets, real processes, a real Docker engine: who holds a port, what an earlier stack left.

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
const close = (srv: Server | HttpServer) => new Promise<void>((r) => srv.close(() => r()));

/** A node process that sleeps until killed, with this environment. */
function sleeper(env: Record<string, string> = {}, script = 'setInterval(() => {}, 1000)'): ChildProcess {
  return spawn(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
}
const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));

describe('ports of a local stack', () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

  it('names a taken port, its service, the process holding it and a free port base', async () => {
    const port = await freePort();
    const srv = await listen(port);
    try {
      expect(await portState(port)).toBe('in-use');
      const error = await assertPortsFree({ router: port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortTakenError);
      const taken = error as PortTakenError;
      expect(taken.taken).toEqual([{ process: 'router', port, holder: { pid: process.pid, command: expect.stringContaining('node') } }]);
      expect(taken.message).toMatch(new RegExp(`^port ${port} \\(router\\) is already in use by pid ${process.pid}: .*node`));
      expect(taken.freeBase).toBeGreaterThan(port);
      expect(taken.message).toContain(`agency up --port-base ${taken.freeBase}`);
      // The base it suggests is free for all eight.
      await expect(
        assertPortsFree(
          Object.fromEntries(
            ['orchestrator', 'router', 'registry', 'agent-runner', 'reviewer', 'git-service', 'llm-gateway', 'dashboard'].map((p, i) => [
              p,
              taken.freeBase! + i,
            ]),
          ),
        ),
      ).resolves.toBeUndefined();
    } finally {
      await close(srv);
    }
    expect(await portState(port)).toBe('free');
    expect(portHolder(port)).toBeUndefined();
  });

  it("finds another process's listening socket and its command line", async () => {
    const port = await freePort();
    const child = sleeper({}, `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('up')); setInterval(() => {}, 1000)`);
    children.push(child);
    await new Promise<void>((resolve) => {
      const poll = async () => ((await portState(port)) === 'in-use' ? resolve() : setTimeout(() => void poll(), 50));
      void poll();
    });
    expect(portHolder(port)).toEqual({ pid: child.pid, command: expect.stringContaining(`listen(${port}`) });
    child.kill('SIGKILL');
  });

  it("accepts only the readiness answer of this stack's own service, never another one on its port", async () => {
    const dir = tempDir('agency-identity-');
    // A registry that never listens: the only answer on its port is the other stack's.
    mkdirSync(join(dir.path, 'dist', 'apps', 'registry', 'src'), { recursive: true });
    writeFileSync(join(dir.path, 'dist', 'apps', 'registry', 'src', 'main.js'), 'setInterval(() => {}, 1000);\n');
    const port = await freePort();
    let identity = { service: 'registry', stack: 'stack-someone-else' };
    const other: HttpServer = createHttpServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...identity })),
    );
    await new Promise<void>((r) => other.listen(port, '127.0.0.1', () => r()));
    const stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: join(dir.path, 'vault'),
      rootDir: dir.path,
      natsUrl: 'nats://127.0.0.1:1',
      ports: { registry: port },
      readyTimeoutMs: 20_000,
    });
    mkdirSync(join(dir.path, 'run', 'logs'), { recursive: true });
    try {
      await expect(stack.startService('registry')).rejects.toThrow(
        new RegExp(
          `^http://127\\.0\\.0\\.1:${port}/health/ready answers for registry of stack stack-someone-else, not registry of this stack \\(${stack.stackId}\\): port ${port} is held by pid ${process.pid}: `,
        ),
      );
      await stack.stopService('registry', 'SIGKILL');
      identity = { service: 'registry', stack: stack.stackId };
      await expect(stack.startService('registry')).resolves.toBeUndefined();
    } finally {
      await stack.stop();
      await close(other);
      dir.remove();
    }
  });
});

describe('what an earlier stack on the run directory left', () => {
  let dir: TempDir;
  const children: ChildProcess[] = [];
  const state = () => join(dir.path, 'stack.json');

  beforeEach(() => {
    dir = tempDir('agency-leftovers-');
  });
  afterEach(() => {
    children.forEach((c) => c.kill('SIGKILL'));
    dir.remove();
  });

  it("stops the processes that still carry that stack's mark, and nothing else", async () => {
    const gone = sleeper({}, '');
    await exited(gone);
    const leftover = sleeper({ STACK_ID: 'stack-old' });
    const stranger = sleeper({ STACK_ID: 'stack-other' });
    children.push(leftover, stranger);
    writeFileSync(
      state(),
      JSON.stringify({
        pid: gone.pid,
        stackId: 'stack-old',
        processes: { orchestrator: { pid: leftover.pid, mark: 'STACK_ID=stack-old' }, router: { pid: stranger.pid, mark: 'STACK_ID=stack-old' } },
      }),
    );
    await expect(reapLeftoverProcesses(state(), dir.path, 5000)).resolves.toEqual([`orchestrator (pid ${leftover.pid})`]);
    await exited(leftover);
    expect(leftover.signalCode).toBe('SIGTERM');
    expect(stranger.exitCode).toBeNull();
    // Nothing of it is left: a second start reaps nothing.
    await expect(reapLeftoverProcesses(state(), dir.path, 5000)).resolves.toEqual([]);
  });

  it('refuses while the stack that wrote it still runs, and not for a reused pid', async () => {
    const owner = sleeper();
    const service = sleeper({ STACK_ID: 'stack-live' });
    children.push(owner, service);
    const write = (pidStartedAt: string | undefined) =>
      writeFileSync(
        state(),
        JSON.stringify({ pid: owner.pid, pidStartedAt, stackId: 'stack-live', processes: { registry: { pid: service.pid, mark: 'STACK_ID=stack-live' } } }),
      );
    write(processStartTime(owner.pid!));
    const error = await reapLeftoverProcesses(state(), dir.path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackRunningError);
    expect((error as Error).message).toBe(
      `another agency (pid ${owner.pid}) is running on ${dir.path}: stop it first (Ctrl-C in its terminal, or kill ${owner.pid}), or give this one its own --run-dir`,
    );
    expect(service.exitCode).toBeNull();
    // Another process under the recorded pid (it started at another time): the services are leftovers.
    write('1');
    await expect(reapLeftoverProcesses(state(), dir.path, 5000)).resolves.toEqual([`registry (pid ${service.pid})`]);
  });
});

describe('sandbox containers a killed agent-runner left', () => {
  const owner = `agency-test-${process.pid}`;
  const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
  const names: string[] = [];
  afterAll(() => {
    for (const n of names) execFileSync('docker', ['rm', '-f', n], { stdio: 'ignore' });
  });

  it('are removed by their owner, and only theirs', async () => {
    const create = (name: string, who: string) => {
      names.push(name);
      docker(
        'create',
        '--name',
        name,
        '--label',
        `${SANDBOX_LABEL}=true`,
        '--label',
        `${SANDBOX_OWNER_LABEL}=${who}`,
        `${process.env.IMAGE_PREFIX ?? 'localhost/agency'}/debian:bookworm`,
        'sleep',
        '600',
      );
    };
    create(`${owner}-a`, owner);
    create(`${owner}-b`, owner);
    create(`${owner}-other`, `${owner}-other`);
    expect((await reapSandboxes(owner)).sort()).toEqual([`${owner}-a`, `${owner}-b`]);
    expect(docker('ps', '-a', '--format', '{{.Names}}', '--filter', `name=${owner}`)).toBe(`${owner}-other`);
    await expect(reapSandboxes(owner)).resolves.toEqual([]);
  });
});
