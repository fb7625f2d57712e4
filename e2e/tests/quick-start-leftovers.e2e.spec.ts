import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFreePortBase, SANDBOX_OWNER_LABEL } from '@agency/stack';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');

interface StackFile {
  pid: number;
  processes: Record<string, { pid: number }>;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const containersOf = (owner: string) =>
  execFileSync('docker', ['ps', '-a', '-q', '--filter', `label=${SANDBOX_OWNER_LABEL}=${owner}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

/**
 * `agency up` killed with SIGKILL (a closed terminal, an OOM kill) leaves its services, its
 * nats-server and the agent-runner's warm sandbox containers behind; a runner killed the same
 * way cannot remove its containers. The next start on the same run directory reaps them all,
 * and its own stop leaves nothing. The containers carry the stack's owner label (the runner's
 * label key is the one the stack reaps by, or none would be found).
 */
describe('the quick start reaps what a killed run left', () => {
  let dir: TempDir;
  const runs: ChildProcess[] = [];
  let stackFile: StackFile | undefined;

  const up = (args: string[]) => {
    const { NATS_URL: _nats, SANDBOX: _sandbox, ...env } = process.env;
    const child = spawn(process.execPath, [cli, 'up', '--run-dir', dir.path, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    runs.push(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
    return { child, output: () => output, exit: new Promise<number | null>((resolve) => child.on('exit', resolve)) };
  };

  afterAll(async () => {
    for (const c of runs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    // Whatever the first run left, should the test have failed before the second reaped it.
    for (const p of Object.values(stackFile?.processes ?? {})) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
    dir?.remove();
  });

  it('stops the services and the nats-server, removes the sandbox containers, starts afresh and leaves nothing when it stops', async () => {
    dir = tempDir('agency-leftovers-');
    const base = await randomFreePortBase();
    const first = up(['--port-base', String(base)]);
    await expectEventually(() => expect(first.output()).toContain('"Add a farewell function": awaiting-merge'), {
      timeoutMs: 240_000,
      intervalMs: 500,
      message: 'the first run takes FR-001 to a PR',
    });
    expect(first.output()).toMatch(/^sandbox {4}Docker containers/m);
    stackFile = JSON.parse(readFileSync(join(dir.path, 'stack.json'), 'utf8')) as StackFile;
    const owner = /(?:^|\0)SANDBOX_OWNER=([^\0]+)/.exec(readFileSync(`/proc/${stackFile.processes['agent-runner']!.pid}/environ`, 'utf8'))![1]!;
    expect(owner).toMatch(/^agency-[0-9a-f]{12}$/);
    // The runner's warm pool carries the stack's owner label.
    await expectEventually(() => expect(containersOf(owner).length).toBeGreaterThan(0), { timeoutMs: 60_000, message: `warm sandbox containers of ${owner}` });

    // The terminal goes away (SIGKILL: no handler runs) and so does the runner, with its pool.
    first.child.kill('SIGKILL');
    process.kill(stackFile.processes['agent-runner']!.pid, 'SIGKILL');
    await first.exit;
    const leftovers = Object.entries(stackFile.processes).filter(([name]) => name !== 'agent-runner');
    expect(leftovers.map(([, p]) => alive(p.pid))).toEqual(leftovers.map(() => true));
    expect(containersOf(owner).length).toBeGreaterThan(0);

    const second = up(['--once', '--timeout', '240', '--port-base', String(base)]);
    const code = await second.exit;
    const output = second.output();
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/^reaped {5}.*orchestrator \(pid \d+\).*nats-server \(pid \d+\).* \(left running by an earlier start on this run directory\)$/m);
    expect(output).toMatch(/^reaped {5}.+ \(sandbox containers an earlier agent-runner of this run directory left\)$/m);
    for (const [, p] of leftovers) expect(alive(p.pid)).toBe(false);
    expect(output).toContain('the planned folder is drained: 1 FR(s), 0 failed or blocked.');
    // Its own stop removed its runner's pool, and the stack file.
    expect(containersOf(owner)).toEqual([]);
    expect(existsSync(join(dir.path, 'stack.json'))).toBe(false);
  });
});
