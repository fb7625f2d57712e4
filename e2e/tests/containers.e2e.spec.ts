import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { seedBareRepo, seedVault } from '@agency/stack';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';

// The whole agency from the locally built images (scripts/images/build-apps.sh): a Docker
// network, localhost/agency/nats, the seven services and the dashboard as containers, the vault and the
// local forge as bind mounts, running the example FR-001 to a pull request on the local forge.
// The containers run as the images' non-root user with read-only root file systems, as in
// deploy/k8s; the agent-runner runs its sandboxes on the host's engine through its socket.
// Skipped only when no Docker engine answers.

const root = join(import.meta.dirname, '..', '..');
const docker = new Docker();
const engine = await docker.ping().then(
  () => true,
  () => false,
);
if (!engine)
  console.warn('containers e2e: SKIPPED, no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); start one with scripts/docker/ensure-engine.sh');

const SERVICES = ['llm-gateway', 'git-service', 'router', 'registry', 'agent-runner', 'reviewer', 'orchestrator', 'dashboard'] as const;
type Service = (typeof SERVICES)[number];
const PORT: Record<Service, number> = {
  orchestrator: 7100,
  router: 7101,
  registry: 7102,
  'agent-runner': 7103,
  reviewer: 7104,
  'git-service': 7105,
  'llm-gateway': 7106,
  dashboard: 7107,
};
const GATEWAY_KEY = `agk_${randomBytes(16).toString('hex')}`;
const SPAN_SERVICES = SERVICES.filter((s) => s !== 'dashboard');

interface SagaSummary {
  frId: string;
  state: string;
  prUrl?: string;
  traceId: string;
  failure?: string;
}

function frFile(vault: string, folder: string, frId: string): string | undefined {
  const dir = join(vault, '10_features', folder);
  const hit = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(`${frId}-`)) : undefined;
  return hit ? join(dir, hit) : undefined;
}

/** Docker's multiplexed log stream (no TTY): frames of [stream, 0, 0, 0, size (4 bytes BE)] + payload. */
function demux(buf: Buffer): string {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(out).toString('utf8');
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', ...args], { cwd, encoding: 'utf8' }).trim();

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}

describe.skipIf(!engine)('the agency in containers, from the locally built images', () => {
  const id = randomBytes(4).toString('hex');
  const networkName = `agency-e2e-${id}`;
  const containers = new Map<Service | 'nats', Docker.Container>();
  const hostPort = new Map<Service, number>();
  let network: Docker.Network | undefined;
  let dir: TempDir;
  let vault: string;
  let forge: string;
  let traces: string;
  let runnerWork: string;
  const sandboxOwner = `e2e-${id}`;
  const sandboxes = async () => docker.listContainers({ all: true, filters: { label: [`agency.sandbox.owner=${sandboxOwner}`] } });
  let user: string | undefined;
  let failures = 0;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failures += 1;
  });

  const url = (s: Service) => `http://127.0.0.1:${hostPort.get(s)}`;
  const sagas = async (): Promise<SagaSummary[]> => ((await (await fetch(`${url('orchestrator')}/sagas`)).json()) as { sagas: SagaSummary[] }).sagas;
  const saga = async (frId: string) => (await sagas()).find((s) => s.frId === frId);

  function envFor(s: Service): string[] {
    const common = [
      'NATS_URL=nats://nats:4222',
      'VAULT_PATH=/vault',
      `INSTANCE_ID=${s}-e2e`,
      `AGENCY_TRACE_FILE=/traces/${s}.jsonl`,
      'LOG_LEVEL=info',
      'HOME=/tmp',
    ];
    const own: Record<Service, string[]> = {
      orchestrator: ['SCAN_INTERVAL_MS=1000'],
      router: [],
      registry: [],
      // The hardened Docker sandbox through the host's engine (deploy/k8s uses a dind sidecar): the
      // work directory has the same path inside and out, so the sandboxes' bind mounts resolve.
      'agent-runner': [
        `WORK_DIR=${runnerWork}`,
        `SANDBOX_HOST_WORK_DIR=${runnerWork}`,
        'SANDBOX=docker',
        `SANDBOX_OWNER=${sandboxOwner}`,
        'SANDBOX_POOL_SIZE=1',
        'LLM_GATEWAY_URL=http://llm-gateway:7106/v1',
        `LLM_GATEWAY_API_KEY=${GATEWAY_KEY}`,
      ],
      reviewer: ['LLM_GATEWAY_URL=http://llm-gateway:7106/v1', `LLM_GATEWAY_API_KEY=${GATEWAY_KEY}`],
      'git-service': ['WORK_DIR=/work'],
      'llm-gateway': [`GATEWAY_API_KEYS=agency:${GATEWAY_KEY}`],
      dashboard: [
        'ORCHESTRATOR_URL=http://orchestrator:7100',
        'REGISTRY_URL=http://registry:7102',
        'GIT_SERVICE_URL=http://git-service:7105',
        'TRACE_URL_TEMPLATE=http://localhost:16686/trace/{traceId}',
      ],
    };
    return [...common, ...own[s]];
  }

  function mountsFor(s: Service): string[] {
    const binds = [`${traces}:/traces`];
    if (s !== 'dashboard') binds.push(`${vault}:/vault${s === 'orchestrator' ? '' : ':ro'}`);
    if (s === 'git-service' || s === 'agent-runner') binds.push(`${forge}:/forge`);
    if (s === 'agent-runner') binds.push(`${runnerWork}:${runnerWork}`, '/var/run/docker.sock:/var/run/docker.sock');
    return binds;
  }

  async function start(name: Service | 'nats', options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    const c = await docker.createContainer({
      name: `agency-e2e-${id}-${name}`,
      Labels: { 'agency.e2e': id },
      ...options,
      HostConfig: { NetworkMode: networkName, ...options.HostConfig },
      NetworkingConfig: { EndpointsConfig: { [networkName]: { Aliases: [name] } } },
    });
    containers.set(name, c);
    await c.start();
    return c;
  }

  async function waitReady(s: Service): Promise<void> {
    const c = containers.get(s)!;
    await expectEventually(
      async () => {
        const info = await c.inspect();
        if (!info.State.Running) throw new Error(`${s} exited (${info.State.ExitCode}): ${(await logsOf(s)).slice(-1500)}`);
        const res = await fetch(`${url(s)}/health/ready`, { signal: AbortSignal.timeout(1000) });
        expect(res.status).toBe(200);
      },
      { timeoutMs: 60_000, intervalMs: 250, message: `${s} ready` },
    );
  }

  async function logsOf(name: Service | 'nats'): Promise<string> {
    const c = containers.get(name);
    if (!c) return '';
    return demux((await c.logs({ stdout: true, stderr: true, tail: 200 })) as unknown as Buffer);
  }

  beforeAll(async () => {
    // Fresh images of the current build: a no-op when nothing changed (the layer cache), about a
    // minute the first time. Base images come from scripts/docker/build-images.sh if missing.
    execFileSync('bash', [join(root, 'scripts', 'images', 'build-apps.sh'), '--skip-compile', ...SERVICES, 'nats'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });

    dir = tempDir('agency-containers-e2e-');
    vault = join(dir.path, 'vault');
    forge = join(dir.path, 'forge');
    traces = join(dir.path, 'traces');
    runnerWork = join(dir.path, 'runner-work');
    mkdirSync(traces, { recursive: true });
    mkdirSync(runnerWork, { recursive: true });
    seedVault(join(root, 'examples', 'vault'), vault);
    // /vault/40_config/../../forge is /forge: the example's relative forge root works unchanged,
    // but say it plainly.
    writeFileSync(
      join(vault, '40_config', 'agency.yaml'),
      readFileSync(join(vault, '40_config', 'agency.yaml'), 'utf8').replace('root: ../../forge', 'root: /forge'),
    );
    seedBareRepo(forge, 'example/greeter', join(root, 'examples', 'repos', 'greeter'));
    // The images run as uid/gid 1000. As root, hand the mounts to that user; otherwise run the
    // containers as the current user, who owns them.
    const uid = process.getuid?.() ?? 1000;
    const gid = process.getgid?.() ?? 1000;
    if (uid === 0) chownTree(dir.path, 1000, 1000);
    else if (uid !== 1000) user = `${uid}:${gid}`;

    network = await docker.createNetwork({ Name: networkName, Labels: { 'agency.e2e': id } });
    // Its store is the image's /data volume (owned by the nats user), removed with the container.
    await start('nats', { Image: 'localhost/agency/nats:latest' });
    await expectEventually(async () => expect(await logsOf('nats')).toContain('Server is ready'), { timeoutMs: 20_000, message: 'nats-server ready' });
    for (const s of SERVICES) {
      const port = `${PORT[s]}/tcp`;
      const c = await start(s, {
        Image: `localhost/agency/${s}:latest`,
        Env: envFor(s),
        ...(user ? { User: user } : {}),
        ExposedPorts: { [port]: {} },
        HostConfig: {
          Binds: mountsFor(s),
          PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': 'rw,size=512m,exec,mode=1777', ...(s === 'git-service' ? { '/work': 'rw,size=1g,exec,mode=1777' } : {}) },
          // The engine's socket belongs to its group: the runner joins it, nothing more.
          ...(s === 'agent-runner' ? { GroupAdd: [String(statSync('/var/run/docker.sock').gid)] } : {}),
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          Memory: 1024 * 1024 * 1024,
        },
      });
      const info = await c.inspect();
      hostPort.set(s, Number(info.NetworkSettings.Ports[port]![0]!.HostPort));
      await waitReady(s);
    }
  }, 900_000);

  afterAll(async () => {
    // The services' logs when something failed (or the start-up did: no test ran then).
    const failed = failures > 0 || !containers.has('dashboard') || process.env.KEEP_E2E_LOGS;
    for (const [name, c] of containers) {
      if (failed) console.log(`--- ${name}\n${(await logsOf(name).catch(() => '')).slice(-3000)}`);
      await c.remove({ force: true, v: true }).catch(() => undefined);
    }
    // The runner was killed with its container: its sandboxes are removed here, as its reaper would at its next start.
    for (const c of await sandboxes().catch(() => []))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await network?.remove().catch(() => undefined);
    dir?.remove();
  }, 120_000);

  it('takes FR-001 from the vault to an open pull request on the local forge', async () => {
    await expectEventually(
      async () => {
        const s = await saga('FR-001');
        expect(s?.failure ?? '').toBe('');
        expect(s?.state).toBe('awaiting-merge');
      },
      { timeoutMs: 240_000, intervalMs: 1000, message: 'FR-001 awaiting merge' },
    );
    const s = (await saga('FR-001'))!;
    expect(s.prUrl).toBe('local://example/greeter/pulls/1');
    const bare = join(forge, 'example', 'greeter.git');
    const branch = git(bare, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/')
      .split('\n')
      .find((b) => b.startsWith('agency/FR-001-'));
    expect(branch).toBe('agency/FR-001-add-a-farewell-function');
    expect(git(bare, 'show', `${branch}:src/farewell.js`)).toContain('Goodbye');
    const pr = (await (await fetch(`${url('git-service')}/forge/local/repos/example/greeter/pulls/1`)).json()) as Record<string, unknown>;
    expect(pr).toMatchObject({ number: 1, branch, base: 'main', state: 'open' });
    expect(readFileSync(frFile(vault, '05_in_review', 'FR-001')!, 'utf8')).toMatch(/^pr: local:\/\/example\/greeter\/pulls\/1$/m);
  });

  it("ran the agents' commands in hardened sandbox containers on the host's engine", async () => {
    // The runner keeps a warm sandbox: it is the same hardened container its jobs ran in.
    const [warm] = await sandboxes();
    expect(warm, 'a sandbox container of the containerised runner').toBeDefined();
    const info = await docker.getContainer(warm!.Id).inspect();
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.Config.User).not.toMatch(/^(0|root)(:|$)/);
    expect(info.Config.Image).toBe('localhost/agency/sandbox:latest');
    // SANDBOX=docker: the runner does not start without its engine, so FR-001's tests ran in such a container.
    expect(await logsOf('agent-runner')).not.toContain('without isolation');
  });

  it('shows it on the dashboard container, with a link to the PR record and the trace', async () => {
    const detail = (await (await fetch(`${url('dashboard')}/api/sagas/FR-001`)).json()) as {
      saga: { state: string };
      links: Record<string, string>;
      timeline: { rows: { step: string }[] };
    };
    expect(detail.saga.state).toBe('awaiting-merge');
    expect(detail.links.pr).toBe('/forge/local/repos/example/greeter/pulls/1');
    expect(detail.links.trace).toMatch(/^http:\/\/localhost:16686\/trace\/[0-9a-f]{32}$/);
    expect(detail.timeline.rows.map((r) => r.step)).toEqual(expect.arrayContaining(['plan', 'code-r1', 'test-r1', 'review-r1', 'open-pr-r1']));
    expect((await fetch(`${url('dashboard')}${detail.links.pr}`)).status).toBe(200);
  });

  it('moves FR-001 to done when the PR is merged', async () => {
    const res = await fetch(`${url('git-service')}/forge/local/repos/example/greeter/pulls/1/merge`, { method: 'POST' });
    expect(res.status).toBeLessThan(300);
    await expectEventually(async () => expect((await saga('FR-001'))?.state).toBe('done'), { timeoutMs: 60_000, intervalMs: 500 });
    await expectEventually(() => expect(frFile(vault, '06_done', 'FR-001')).toBeDefined());
  });

  it('traced FR-001 as one trace with spans from all seven services', async () => {
    const { traceId } = (await saga('FR-001'))!;
    await expectEventually(
      () => {
        const services = new Set<string>();
        for (const f of readdirSync(traces)) {
          for (const line of readFileSync(join(traces, f), 'utf8').split('\n')) {
            if (!line.includes(traceId)) continue;
            const span = JSON.parse(line) as { traceId: string; service: string };
            if (span.traceId === traceId) services.add(span.service);
          }
        }
        expect([...services].sort()).toEqual([...SPAN_SERVICES].sort());
      },
      { timeoutMs: 30_000, message: `spans of trace ${traceId}` },
    );
  });

  it('ran every service as the non-root user of its image, on a read-only root file system', async () => {
    for (const s of SERVICES) {
      const info = await containers.get(s)!.inspect();
      expect(info.HostConfig.ReadonlyRootfs, s).toBe(true);
      expect(info.State.Running, s).toBe(true);
      expect(user ?? info.Config.User, s).not.toMatch(/^(0|root)(:|$)/);
    }
    const exec = await containers
      .get('orchestrator')!
      .exec({ Cmd: ['node', '-e', 'process.stdout.write(String(process.getuid()))'], AttachStdout: true, AttachStderr: true, Tty: true });
    const stream = await exec.start({ Tty: true });
    const out = await new Promise<string>((resolve) => {
      let data = '';
      stream.on('data', (d: Buffer) => (data += d.toString('utf8')));
      stream.on('end', () => resolve(data));
    });
    expect(out.trim()).toBe(user ? user.split(':')[0] : '1000');
  });
});
