import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { git } from './greeter-forge.js';

/** The host as a container on Docker's default bridge sees it. */
export const BRIDGE_HOST = '172.17.0.1';

/** A local npm registry (HTTP) serving one package's tarball, counting every request it gets. */
export interface LocalRegistry {
  port: number;
  /** `host:port` as sandboxes reach it. */
  hostPort: string;
  tarballUrl: string;
  integrity: string;
  requests: string[];
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return (server.address() as { port: number }).port;
}

/** `tiny-test-runner@1.0.0`: a dev dependency whose `tiny-test` bin runs the repository's test/check.mjs. */
export async function startLocalRegistry(root: string): Promise<LocalRegistry> {
  const pkg = join(root, 'tiny-test-runner', 'package');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'tiny-test-runner', version: '1.0.0', bin: { 'tiny-test': 'bin/tiny-test.js' } }));
  writeFileSync(
    join(pkg, 'bin', 'tiny-test.js'),
    "#!/usr/bin/env node\nimport(process.cwd() + '/test/check.mjs').then(() => console.log('tiny-test: 1 passed'), (e) => { console.log('tiny-test: 1 failed: ' + e.message); process.exit(1); });\n",
  );
  const tgz = join(root, 'tiny-test-runner-1.0.0.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', join(root, 'tiny-test-runner'), 'package']);
  const bytes = readFileSync(tgz);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url === '/tiny-test-runner/-/tiny-test-runner-1.0.0.tgz')
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
    else res.writeHead(404).end('{}');
  });
  const port = await listen(server);
  return {
    port,
    hostPort: `${BRIDGE_HOST}:${port}`,
    tarballUrl: `http://${BRIDGE_HOST}:${port}/tiny-test-runner/-/tiny-test-runner-1.0.0.tgz`,
    integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A bare repository whose `npm test` needs its dev dependency from the local registry. */
export function makeNpmRepo(root: string, name: string, registry: LocalRegistry, extra: Record<string, string> = {}): { cloneUrl: string; baseSha: string } {
  const src = join(root, `${name}-src`);
  mkdirSync(join(src, 'test'), { recursive: true });
  const manifest = { name, version: '1.0.0', private: true, type: 'module', scripts: { test: 'tiny-test' }, devDependencies: { 'tiny-test-runner': '1.0.0' } };
  const lock = {
    name,
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name, version: '1.0.0', devDependencies: { 'tiny-test-runner': '1.0.0' } },
      'node_modules/tiny-test-runner': {
        version: '1.0.0',
        resolved: registry.tarballUrl,
        integrity: registry.integrity,
        dev: true,
        bin: { 'tiny-test': 'bin/tiny-test.js' },
      },
    },
  };
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'package-lock.json': `${JSON.stringify(lock, null, 2)}\n`,
    '.npmrc': `registry=http://${registry.hostPort}/\n`,
    'test/check.mjs': "if (1 + 1 !== 2) throw new Error('arithmetic');\n",
    ...extra,
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(src, path, '..'), { recursive: true });
    writeFileSync(join(src, path), content);
  }
  git(src, 'init', '-q', '-b', 'main');
  git(src, 'add', '-A');
  git(src, 'commit', '-q', '-m', `${name}: initial`);
  const cloneUrl = join(root, 'forge', `${name}.git`);
  git(root, 'clone', '-q', '--bare', src, cloneUrl);
  return { cloneUrl, baseSha: git(cloneUrl, 'rev-parse', 'main') };
}
