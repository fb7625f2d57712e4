import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import { startSandboxRig, type SandboxRig } from './support/docker-sandbox.js';
import { VAULT_PATH } from './support/greeter-forge.js';

// Both cgroup versions: v1 has a directory per controller, v2 one unified directory.
const READ_LIMITS =
  'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max';

describe("DockerSandbox: a tier's limits and a repository's network", () => {
  let rig: SandboxRig;
  let vault: TempDir;
  let host: Server;
  let hostPort: number;

  beforeAll(async () => {
    // A vault whose second repository may use Docker's default bridge (to download its dependencies).
    vault = tempDir('sandbox-vault-');
    cpSync(VAULT_PATH, vault.path, { recursive: true });
    const file = join(vault.path, '40_config', 'agency.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('repos:\n', 'repos:\n  example/online:\n    forge: local\n    test: npm test\n    network: bridge\n'),
    );
    host = createServer((_req, res) => res.end('reached the host'));
    await new Promise<void>((resolve) => host.listen(0, '0.0.0.0', resolve));
    hostPort = (host.address() as { port: number }).port;
    rig = await startSandboxRig({ VAULT_PATH: vault.path });
  });

  afterAll(async () => {
    await rig?.dispose();
    host?.close();
    vault?.remove();
  });

  it("runs with the default limits from the warm pool, and with a tier's own limits in a container of its own", async () => {
    const pool = rig.sandbox.poolFor(rig.config.SANDBOX_IMAGE, { uid: 1000, gid: 1000 });
    await expectEventually(() => expect(pool.readyCount).toBe(1), { timeoutMs: 60_000, message: 'a warm container' });

    const tiered = await rig.sandbox.open({ workspace: rig.workspace('job-tier'), jobId: 'job-tier', limits: { memoryMb: 320, pids: 77 } });
    // The warm container (default limits) was not taken.
    expect(pool.readyCount).toBe(1);
    const limits = await tiered.exec({ command: READ_LIMITS, timeoutMs: 30_000 });
    expect(limits.output.trim().split('\n')).toEqual([String(320 * 1024 * 1024), '77']);
    await tiered.close();

    const plain = await rig.sandbox.open({ workspace: rig.workspace('job-plain'), jobId: 'job-plain' });
    const defaults = await plain.exec({ command: READ_LIMITS, timeoutMs: 30_000 });
    expect(defaults.output.trim().split('\n')).toEqual([String(256 * 1024 * 1024), '64']);
    await plain.close();
  });

  it('never gives the agent phase a network, even for a repository whose setup has one; the environment phase gets the one it is given', async () => {
    // 172.17.0.1 is the host on Docker's default bridge.
    const probe = `node -e "fetch('http://172.17.0.1:${hostPort}/').then(async (r) => console.log(await r.text()), (e) => { console.log('no network:', e.cause?.code ?? e.message); process.exit(3) })"`;
    const setup = await rig.sandbox.open({
      workspace: rig.workspace('job-online'),
      jobId: 'job-online',
      repo: 'example/online',
      phase: 'environment',
      network: 'bridge',
    });
    const reached = await setup.exec({ command: probe, timeoutMs: 30_000 });
    await setup.close();
    expect(reached.output).toContain('reached the host');

    for (const repo of ['example/online', 'example/greeter']) {
      const agent = await rig.sandbox.open({ workspace: rig.workspace(`job-agent-${repo.replace('/', '-')}`), jobId: 'job-agent', repo });
      const refused = await agent.exec({ command: probe, timeoutMs: 30_000 });
      await agent.close();
      expect(refused.exitCode, repo).toBe(3);
      expect(refused.output).toContain('no network');
    }
  });
});
