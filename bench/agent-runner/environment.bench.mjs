#!/usr/bin/env node
// Repository environments benchmark: a job's setup (`npm ci` through the registry proxy, then the
// cache archive) against the next job's restore from the cache, through the agent-runner's own
// JobEnvironments and DockerSandbox (compiled in dist/).
//
//   node bench/agent-runner/environment.bench.mjs [--packages 300] [--runs 3]
//
// The packages are real ones, packed from this workspace's node_modules (those without install
// scripts or nested node_modules, under 5 MB each) and served by a local HTTP registry on the
// host, which the setup reaches through the proxy (the public registry is not reachable from a
// container on this machine). Needs a Docker engine and localhost/agency/sandbox:latest.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HEADER, row, summary, fmt, buildAgentRunner } from './stats.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    packages: { type: 'string', default: '300' },
    runs: { type: 'string', default: '3' },
    image: { type: 'string', default: 'localhost/agency/sandbox:latest' },
  },
});
const BRIDGE_HOST = '172.17.0.1';

const dist = await buildAgentRunner(ROOT);
const { DockerSandbox } = await dist('apps/agent-runner/src/sandbox/docker/docker.sandbox.js');
const { DockerEngine } = await dist('apps/agent-runner/src/sandbox/docker/docker.engine.js');
const { ContainerReaper } = await dist('apps/agent-runner/src/sandbox/docker/container-reaper.js');
const { SlotDirectories } = await dist('apps/agent-runner/src/sandbox/docker/slot-directories.js');
const { SandboxImages } = await dist('apps/agent-runner/src/sandbox/sandbox-images.js');
const { WorktreeOwner } = await dist('apps/agent-runner/src/sandbox/worktree-owner.js');
const { JobEnvironments } = await dist('apps/agent-runner/src/environment/job-environments.service.js');
const { EnvironmentCache } = await dist('apps/agent-runner/src/environment/environment-cache.js');
const { RegistryProxies } = await dist('apps/agent-runner/src/environment/registry-proxy.js');
const { GitClient } = await dist('apps/agent-runner/src/git/git.client.js');
const { KeyedMutex } = await dist('apps/agent-runner/src/git/keyed-mutex.js');
const { createLogger } = await dist('libs/telemetry/src/index.js');

const engine = new DockerEngine();
if (!(await engine.ping())) throw new Error('no Docker engine answers');
const work = mkdtempSync(join(tmpdir(), 'bench-env-'));
const git = (cwd, ...a) =>
  execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'user.name=b', '-c', 'user.email=b@b', ...a], { cwd, encoding: 'utf8' }).trim();

/** Real packages from node_modules, packed as registry tarballs. */
function pickPackages(max) {
  const nm = join(ROOT, 'node_modules');
  const names = readdirSync(nm)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((s) => `${n}/${s}`) : [n]));
  const size = (d) =>
    readdirSync(d, { withFileTypes: true }).reduce(
      (s, e) => s + (e.isDirectory() ? size(join(d, e.name)) : e.isFile() ? statSync(join(d, e.name)).size : 0),
      0,
    );
  const picked = [];
  for (const name of names.sort()) {
    if (picked.length >= max) break;
    const dir = join(nm, name);
    if (!existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'node_modules'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const s = pkg.scripts ?? {};
    if (pkg.name !== name || !pkg.version || s.install || s.preinstall || s.postinstall || pkg.gypfile || size(dir) > 5_000_000) continue;
    picked.push({ name, version: pkg.version, dir, bin: pkg.bin });
  }
  return picked;
}

const packages = pickPackages(Number(args.packages));
const tarballs = new Map();
let unpacked = 0;
for (const p of packages) {
  const stage = join(work, 'stage', p.name);
  mkdirSync(stage, { recursive: true });
  execFileSync('cp', ['-a', p.dir, join(stage, 'package')]);
  const file = join(work, 'tgz', `${p.name.replace('/', '__')}-${p.version}.tgz`);
  mkdirSync(join(work, 'tgz'), { recursive: true });
  execFileSync('tar', ['-czf', file, '-C', stage, 'package']);
  const bytes = readFileSync(file);
  tarballs.set(`/${p.name}/-/${p.name.split('/').pop()}-${p.version}.tgz`, bytes);
  p.integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
  unpacked += Number(execFileSync('du', ['-sb', p.dir], { encoding: 'utf8' }).split('\t')[0]);
}
let requests = 0;
const server = createServer((req, res) => {
  requests += 1;
  const body = tarballs.get(req.url);
  if (body) res.writeHead(200, { 'content-length': body.length }).end(body);
  else res.writeHead(404).end('{}');
});
await new Promise((r) => server.listen(0, '0.0.0.0', r));
const port = server.address().port;
const registry = `${BRIDGE_HOST}:${port}`;

// The repository: every package a dev dependency, locked to the local registry.
const src = join(work, 'src');
mkdirSync(src, { recursive: true });
const deps = Object.fromEntries(packages.map((p) => [p.name, p.version]));
writeFileSync(join(src, 'package.json'), JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true, devDependencies: deps }, null, 2));
const lockPackages = { '': { name: 'bench-app', version: '1.0.0', devDependencies: deps } };
for (const p of packages)
  lockPackages[`node_modules/${p.name}`] = {
    version: p.version,
    resolved: `http://${registry}/${p.name}/-/${p.name.split('/').pop()}-${p.version}.tgz`,
    integrity: p.integrity,
    dev: true,
    ...(p.bin ? { bin: typeof p.bin === 'string' ? { [p.name.split('/').pop()]: p.bin } : p.bin } : {}),
  };
writeFileSync(
  join(src, 'package-lock.json'),
  JSON.stringify({ name: 'bench-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: lockPackages }, null, 2),
);
writeFileSync(join(src, '.npmrc'), `registry=http://${registry}/\n`);
git(src, 'init', '-q', '-b', 'main');
git(src, 'add', '-A');
git(src, 'commit', '-q', '-m', 'bench');
const mirror = join(work, 'mirror.git');
git(work, 'clone', '-q', '--mirror', src, mirror);
const baseSha = git(mirror, 'rev-parse', 'main');

const vault = join(work, 'vault');
execFileSync('cp', ['-a', join(ROOT, 'examples/vault'), vault]);
const yaml = join(vault, '40_config/agency.yaml');
writeFileSync(
  yaml,
  readFileSync(yaml, 'utf8').replace(
    'repos:\n',
    `repos:\n  bench/app:\n    forge: local\n    setup: npm ci --no-audit --no-fund\n    test: npm test\n    registries: ["${registry}"]\n`,
  ),
);

const config = {
  WORK_DIR: join(work, 'wd'),
  VAULT_PATH: vault,
  TEST_OUTPUT_MAX_BYTES: 2_000_000,
  SANDBOX_IMAGE: args.image,
  SANDBOX_POOL_SIZE: 0,
  SANDBOX_OWNER: `bench-env-${process.pid}`,
  SANDBOX_MEMORY_MB: 2048,
  SANDBOX_DISK_MB: 4096,
  SANDBOX_CPUS: 2,
  SANDBOX_PIDS: 512,
  SANDBOX_TMP_MB: 1024,
  SANDBOX_NETWORK: 'registries',
  SANDBOX_UID: 1000,
  SANDBOX_GID: 1000,
  SETUP_TIMEOUT_SECONDS: 900,
  ENV_CACHE_MAX_MB: 10_240,
  REGISTRY_PROXY_EGRESS_NETWORK: 'bridge',
  GIT_TIMEOUT_SECONDS: 300,
};
const logger = createLogger({ service: 'bench', level: 'warn' });
const reaper = new ContainerReaper(engine, logger);
const images = new SandboxImages(config);
const owners = new WorktreeOwner(config);
const sandbox = new DockerSandbox(config, engine, new SlotDirectories(config), images, owners, reaper, logger);
await sandbox.onModuleInit();
const cache = new EnvironmentCache(config);
const environments = new JobEnvironments(
  config,
  new GitClient(config),
  new KeyedMutex(),
  sandbox,
  images,
  cache,
  owners,
  logger,
  engine,
  new RegistryProxies(config, engine, logger),
);
const repo = { name: 'bench/app', cloneUrl: src, base: 'main', forge: 'local', setupCommand: 'npm ci --no-audit --no-fund', testCommand: 'npm test' };

let seq = 0;
function worktree() {
  seq += 1;
  const jobId = `job-${seq}`;
  const dir = join(config.WORK_DIR, 'worktrees', jobId);
  mkdirSync(join(config.WORK_DIR, 'worktrees'), { recursive: true });
  git(mirror, 'worktree', 'add', '-q', '--detach', dir, baseSha);
  const gitDir = resolve(
    dir,
    readFileSync(join(dir, '.git'), 'utf8')
      .replace(/^gitdir: /, '')
      .trim(),
  );
  return { jobId, dir, branch: 'main', baseSha, mirrorDir: mirror, gitDir };
}

const installs = [];
const setups = [];
const restores = [];
let sizeBytes = 0;
try {
  for (let i = 0; i < Number(args.runs); i += 1) {
    rmSync(cache.root, { recursive: true, force: true });
    const before = requests;
    const ws = worktree();
    const s = await environments.ensure(ws, repo, { jobId: ws.jobId });
    if (s.action !== 'setup' || !s.stored) throw new Error(`expected an install that made a cache entry, got ${JSON.stringify(s)}`);
    if (requests - before !== packages.length) throw new Error(`expected ${packages.length} tarball requests, got ${requests - before}`);
    installs.push(s.durationMs);
    setups.push(s.setupMs);
    sizeBytes = readdirSync(join(cache.root, 'entries'))
      .filter((n) => n.endsWith('.tar'))
      .map((n) => statSync(join(cache.root, 'entries', n)).size)[0];
    const ws2 = worktree();
    const before2 = requests;
    const r = await environments.ensure(ws2, repo, { jobId: ws2.jobId });
    if (r.action !== 'restored' || requests !== before2) throw new Error(`expected a restore with no request, got ${JSON.stringify(r)}`);
    if (!existsSync(join(ws2.dir, 'node_modules', packages[0].name, 'package.json'))) throw new Error('restore left no node_modules');
    restores.push(r.durationMs);
  }
} finally {
  await sandbox.onApplicationShutdown();
  server.close();
  rmSync(work, { recursive: true, force: true });
}

console.log(`\n${packages.length} packages (${(unpacked / 1e6).toFixed(1)} MB unpacked), cache entry ${(sizeBytes / 1e6).toFixed(1)} MB\n`);
console.log(HEADER);
console.log(row('setup command alone (`npm ci` in the setup container, through the proxy)', summary(setups)));
console.log(row('**first job**: proxy + network, setup container, npm ci, host listing, archive container + tar, store', summary(installs)));
console.log(row('**next job**: restore container, tar -x (no network, no install)', summary(restores)));
console.log(
  `\nrestore / first job (medians): ${((summary(restores).median / summary(installs).median) * 100).toFixed(0)}%; ${fmt(summary(installs).median)} -> ${fmt(summary(restores).median)}`,
);
