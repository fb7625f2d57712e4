import { sandboxOwnerOf } from '../../agent-runner.config.js';
import { containerName, containerSpec, SANDBOX_ENV, SERVER_NODE_LABEL, serverNodeOf } from './container-spec.js';

const input = {
  image: 'agency/sandbox:latest',
  name: 'agency-sbx-test-1',
  slotHostDir: '/work/sandbox/slots/abc',
  user: { uid: 1000, gid: 1001 },
  limits: { memoryMb: 512, diskMb: 64, cpus: 1.5, pids: 128, tmpMb: 256, network: 'none' },
  labels: { 'agency.sandbox': 'true', 'agency.sandbox.owner': 'runner-a' },
};

describe('containerSpec', () => {
  it('binds a worktree on its own file system at /workspace/repo, the slot read-only around it', () => {
    const spec = containerSpec({ ...input, worktreeHostDir: '/work/worktrees/job-1' });
    expect(spec.HostConfig?.Binds).toEqual(['/work/sandbox/slots/abc:/workspace:ro', '/work/worktrees/job-1:/workspace/repo:rw']);
  });

  it('hardens the container: no network, read-only root, tmpfs /tmp, no capabilities, no new privileges, init, limits', () => {
    const spec = containerSpec(input);
    expect(spec).toMatchObject({
      Image: 'agency/sandbox:latest',
      User: '1000:1001',
      Entrypoint: ['node'],
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      NetworkDisabled: false,
      Labels: input.labels,
    });
    expect(spec.HostConfig).toMatchObject({
      Binds: ['/work/sandbox/slots/abc:/workspace:rw'],
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=256m,mode=1777' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      Memory: 512 * 1024 * 1024,
      MemorySwap: 512 * 1024 * 1024,
      NanoCpus: 1_500_000_000,
      PidsLimit: 128,
      Ulimits: [{ Name: 'fsize', Soft: 64 * 1024 * 1024, Hard: 64 * 1024 * 1024 }],
      LogConfig: { Type: 'none', Config: {} },
    });
    expect(spec.HostConfig!.Privileged).toBeUndefined();
    // An environment container's extra mounts (a cache archive read-only, an incoming folder read-write).
    const env = containerSpec({ ...input, extraBinds: [{ hostPath: '/work/environments/entries/k.tar', target: '/agency/cache-in/env.tar', readOnly: true }] });
    expect(env.HostConfig!.Binds).toEqual(['/work/sandbox/slots/abc:/workspace:rw', '/work/environments/entries/k.tar:/agency/cache-in/env.tar:ro']);
    expect(spec.Cmd![0]).toBe('-e');
    expect(spec.Cmd![1]).toMatch(/^\(function commandServerMain\(\)/);
  });

  it("gives commands a fixed environment and nothing of the runner's", () => {
    process.env.AGENCY_SECRET_FOR_SPEC = 'sk-nope';
    try {
      const env = containerSpec(input).Env!;
      expect(env).toEqual(Object.entries(SANDBOX_ENV).map(([k, v]) => `${k}=${v}`));
      expect(env.join('\n')).not.toContain('sk-nope');
      expect(env).toContain('HOME=/tmp');
    } finally {
      delete process.env.AGENCY_SECRET_FOR_SPEC;
    }
  });

  it('joins a named network only when told to', () => {
    const spec = containerSpec({ ...input, limits: { ...input.limits, network: 'sandbox-egress' } });
    expect(spec.NetworkDisabled).toBe(false);
    expect(spec.HostConfig!.NetworkMode).toBe('sandbox-egress');
  });

  it("starts the command server with the image's unreadable node when it names one, else plain node", () => {
    expect(containerSpec({ ...input, serverNode: '/usr/local/lib/agency-server-node' }).Entrypoint).toEqual(['/usr/local/lib/agency-server-node']);
    expect(serverNodeOf({ [SERVER_NODE_LABEL]: '/usr/local/lib/agency-server-node' })).toBe('/usr/local/lib/agency-server-node');
    expect(serverNodeOf({ [SERVER_NODE_LABEL]: 'node' })).toBeUndefined();
    expect(serverNodeOf({})).toBeUndefined();
    expect(serverNodeOf(undefined)).toBeUndefined();
  });

  it('never runs as root', () => {
    expect(() => containerSpec({ ...input, user: { uid: 0, gid: 0 } })).toThrow('never runs as root');
  });

  it('makes Docker-safe names', () => {
    expect(containerName('agency-sbx', 'runner/a b', 'job:1')).toBe('agency-sbx-runner-a-b-job-1');
    expect(containerName('--x')).toBe('x');
  });
});

describe('sandboxOwnerOf', () => {
  it('is SANDBOX_OWNER when set, else stable per host and WORK_DIR', () => {
    expect(sandboxOwnerOf({ SANDBOX_OWNER: 'runner-7', WORK_DIR: '/w' })).toBe('runner-7');
    const a = sandboxOwnerOf({ WORK_DIR: '/srv/a' });
    expect(a).toMatch(/^agent-runner-[A-Za-z0-9_.-]+-[0-9a-f]{10}$/);
    expect(sandboxOwnerOf({ WORK_DIR: '/srv/a/' })).toBe(a);
    expect(sandboxOwnerOf({ WORK_DIR: '/srv/b' })).not.toBe(a);
  });
});
