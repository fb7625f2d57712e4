import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { renderKustomization } from './support/k8s-schema.js';

// The image steps of deploy/k8s against the real engines of this machine: the agent-runner's init
// container script (which may pull the sandbox image) run against Docker, and pin-images.sh
// reading the digests of an image imported into containerd (Docker's own, as k3s's would be).

const root = join(import.meta.dirname, '..', '..', '..');
const k8s = join(root, 'deploy', 'k8s');
const CONTAINERD = process.env.CONTAINERD_ADDRESS ?? '/var/run/docker/containerd/containerd.sock';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

describe("the agent-runner's init container: which sandbox images it would pull", () => {
  /** The script of the init container as rendered, pointed at this machine's Docker engine. */
  const script = () => {
    const objs = renderKustomization(join(k8s, 'overlays', 'k3s'));
    const runner = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'agent-runner')!;
    const init = (runner.spec as { template: { spec: { initContainers: { name: string; command: string[] }[] } } }).template.spec.initContainers.find(
      (c) => c.name === 'sandbox-image',
    )!;
    return init.command[2]!.replaceAll('unix:///var/run/dind/docker.sock', 'unix:///var/run/docker.sock');
  };
  const run = (image: string) =>
    spawnSync('/bin/sh', ['-c', script()], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, SANDBOX_IMAGE: image, DOCKER_CONFIG: '/tmp/.docker-init-test' },
    });

  it('passes when the engine has the image', () => {
    const tiny = `localhost/agency/init-test:${process.pid}`;
    docker('tag', docker('image', 'inspect', '-f', '{{.Id}}', 'localhost/agency/sandbox:latest'), tiny);
    try {
      expect(run(tiny).status).toBe(0);
    } finally {
      docker('rmi', tiny);
    }
  });

  it('never pulls a name without a registry host (Docker Hub), nor a localhost one: it says why and stops before any pull', () => {
    const bare = run('agency/sandbox-never-there:1');
    expect(bare.status).toBe(1);
    expect(bare.stderr.trim()).toBe(
      "sandbox image agency/sandbox-never-there:1 names no registry host: refusing to pull it from Docker Hub; use localhost/... or your registry's host",
    );
    const local = run('localhost/agency/never-there:1');
    expect(local.status).toBe(1);
    expect(local.stderr.trim()).toMatch(/^sandbox image localhost\/agency\/never-there:1 is not in the engine: load it/);
    // A pull would have printed the engine's answer (no network here, or not found).
    expect(bare.stderr + local.stderr).not.toMatch(/Error response from daemon|Pulling from/);
  });
});

describe('deploy/k8s/pin-images.sh', () => {
  let dir: TempDir;
  const ns = `agency-pin-test-${process.pid}`;
  const image = 'localhost/agency/orchestrator:9.9.9';
  const ctr = (...args: string[]) => execFileSync('ctr', ['--address', CONTAINERD, '-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  beforeAll(() => {
    dir = tempDir('agency-pin-');
    // A tiny image under the orchestrator's name, saved as the build's export is and imported as on the node.
    writeFileSync(join(dir.path, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    writeFileSync(join(dir.path, 'hello.txt'), `pin test ${process.pid}\n`);
    execFileSync('docker', ['build', '-q', '-t', image, dir.path], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: 'ignore' });
    docker('save', '-o', join(dir.path, 'images.tar'), image);
    ctr('images', 'import', '--no-unpack', join(dir.path, 'images.tar'));
    // A copy of deploy/k8s, so the overlay the script rewrites is not the repository's.
    cpSync(k8s, join(dir.path, 'k8s'), { recursive: true });
  });

  afterAll(() => {
    spawnSync('ctr', ['--address', CONTAINERD, '-n', ns, 'images', 'rm', image]);
    for (const d of spawnSync('ctr', ['--address', CONTAINERD, '-n', ns, 'content', 'ls', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean))
      spawnSync('ctr', ['--address', CONTAINERD, '-n', ns, 'content', 'rm', d]);
    spawnSync('ctr', ['--address', CONTAINERD, 'namespaces', 'rm', ns]);
    spawnSync('docker', ['rmi', image]);
    dir?.remove();
  });

  const pin = (env: Record<string, string>) =>
    spawnSync('bash', [join(dir.path, 'k8s', 'pin-images.sh')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, CTR: `ctr --address ${CONTAINERD}`, CTR_NAMESPACE: ns, ...env },
    });

  it('refuses to pin while an agency image is not in containerd, and changes nothing', () => {
    const before = readFileSync(join(dir.path, 'k8s', 'overlays', 'k3s', 'kustomization.yaml'), 'utf8');
    const out = pin({ TAG: '0.1.0' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('localhost/agency/orchestrator:0.1.0 is not in containerd (namespace ' + ns + '): import it first');
    expect(readFileSync(join(dir.path, 'k8s', 'overlays', 'k3s', 'kustomization.yaml'), 'utf8')).toBe(before);
  });

  it('writes the digest containerd holds for an imported image, so the rendered pod names it', () => {
    const digest = ctr('images', 'ls')
      .split('\n')
      .find((l) => l.startsWith(`${image} `))!
      .split(/\s+/)[2]!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Only the orchestrator is imported here: pin an overlay that runs it alone.
    const overlay = join(dir.path, 'k8s', 'overlays', 'one');
    mkdirSync(overlay);
    writeFileSync(
      join(overlay, 'pod.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: { name: orchestrator }\nspec:\n  containers:\n    - { name: orchestrator, image: "localhost/agency/orchestrator:0.1.0", imagePullPolicy: IfNotPresent }\n',
    );
    writeFileSync(join(overlay, 'kustomization.yaml'), 'resources: [pod.yaml]\n# BEGIN images\nimages: []\n# END images\n');
    const out = pin({ OVERLAY: overlay, TAG: '9.9.9' });
    expect(out.stderr).toContain(`${image} -> ${digest}`);
    expect(out.status).toBe(0);
    const pod = renderKustomization(overlay)[0]!;
    expect((pod.spec as { containers: { image: string }[] }).containers[0]!.image).toBe(`${image}@${digest}`);
    // The reference resolves in containerd: the manifest is its content.
    expect(JSON.parse(ctr('content', 'get', digest)).config.digest).toMatch(/^sha256:/);
  });
});
