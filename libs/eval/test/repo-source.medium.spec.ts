import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir, type TempDir } from '@agency/testing';
import { git, materializeRepo, npmTarball } from '../src/repo-source.js';

/** A registry speaking npm's wire format: the packument at /<name> (scoped: /@scope%2fname), tarballs beside it. */
function startRegistry(
  packages: Record<string, { version: string; tarball: Buffer; integrity?: string }>,
): Promise<{ url: string; server: Server; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    for (const [name, p] of Object.entries(packages)) {
      const tarPath = `/${name}/-/${name.split('/').pop()}-${p.version}.tgz`;
      if (req.url === `/${name.replace('/', '%2f')}`) {
        const integrity = p.integrity ?? `sha512-${createHash('sha512').update(p.tarball).digest('base64')}`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            name,
            'dist-tags': { latest: p.version },
            versions: {
              [p.version]: {
                name,
                version: p.version,
                dist: { tarball: `${url}${tarPath}`, integrity, shasum: createHash('sha1').update(p.tarball).digest('hex') },
              },
            },
          }),
        );
        return;
      }
      if (req.url === tarPath) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(p.tarball);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"Not found"}');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, hits })),
  );
}

/** A tarball as npm publishes it: the files under package/. */
function packTarball(dir: string, files: Record<string, string>): Buffer {
  const pkg = join(dir, 'package');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(pkg, path, '..'), { recursive: true });
    writeFileSync(join(pkg, path), text);
  }
  execFileSync('tar', ['-czf', join(dir, 'p.tgz'), '-C', dir, 'package']);
  return readFileSync(join(dir, 'p.tgz'));
}

describe('repository sources', () => {
  let dir: TempDir;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  let tarball: Buffer;

  beforeAll(async () => {
    dir = tempDir('eval-sources-');
    tarball = packTarball(join(dir.path, 'pack'), { 'package.json': '{"name":"@acme/tiny","version":"1.2.3"}\n', 'src/index.js': 'export const x = 1;\n' });
    registry = await startRegistry({ '@acme/tiny': { version: '1.2.3', tarball }, broken: { version: '0.0.1', tarball, integrity: 'sha512-AAAA' } });
  });
  afterAll(() => {
    registry?.server.close();
    dir?.remove();
  });

  it('turns a package at an exact version into one commit with a fixed author and date, the same on every run', async () => {
    const options = { registry: registry.url, cacheDir: join(dir.path, 'cache') };
    const sha = await materializeRepo({ kind: 'npm', spec: '@acme/tiny@1.2.3' }, join(dir.path, 'a'), options);
    expect(git(join(dir.path, 'a'), 'ls-files').split('\n')).toEqual(['package.json', 'src/index.js']);
    expect(git(join(dir.path, 'a'), 'log', '--format=%an %ad %s', '--date=iso-strict')).toBe(
      'Agency eval 2000-01-01T00:00:00+00:00 @acme/tiny@1.2.3 as published on the npm registry',
    );
    expect(git(join(dir.path, 'a'), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    // A second run reads the tarball from the cache (checked again) and makes the same commit.
    const before = registry.hits.filter((h) => h.endsWith('.tgz')).length;
    expect(await materializeRepo({ kind: 'npm', spec: '@acme/tiny@1.2.3' }, join(dir.path, 'b'), options)).toBe(sha);
    expect(registry.hits.filter((h) => h.endsWith('.tgz')).length).toBe(before);
  });

  it('the official npm client reads the same packument (the fake speaks the wire format)', async () => {
    // Asynchronously: the registry answers from this process.
    const { stdout } = await promisify(execFile)('npm', ['view', '@acme/tiny@1.2.3', 'dist.tarball', '--registry', registry.url], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: dir.path },
      timeout: 60_000,
    });
    expect(stdout.trim()).toBe(`${registry.url}/@acme/tiny/-/tiny-1.2.3.tgz`);
  });

  it("refuses a tarball whose integrity is not the registry's, and a version the registry lacks", async () => {
    const options = { registry: registry.url, cacheDir: join(dir.path, 'cache2') };
    await expect(npmTarball('broken@0.0.1', options)).rejects.toThrow(/broken@0\.0\.1: the tarball's sha512 sha512-\S+ is not the registry's sha512-AAAA/);
    await expect(npmTarball('@acme/tiny@9.9.9', options)).rejects.toThrow('@acme/tiny@9.9.9: the registry has no version 9.9.9 of @acme/tiny');
    await expect(npmTarball('nothing@1.0.0', options)).rejects.toThrow(/nothing@1\.0\.0: .*answered 404/);
  });

  it('takes a bundle or a local repository at a ref, and a plain folder as one commit', async () => {
    const src = join(dir.path, 'src');
    mkdirSync(src);
    git(src, 'init', '-q', '-b', 'trunk');
    writeFileSync(join(src, 'a.txt'), 'one\n');
    git(src, 'add', '-A');
    git(src, 'commit', '-q', '-m', 'one');
    const first = git(src, 'rev-parse', 'HEAD');
    writeFileSync(join(src, 'a.txt'), 'two\n');
    git(src, 'commit', '-q', '-am', 'two');
    git(src, 'bundle', 'create', '-q', join(dir.path, 'r.bundle'), 'trunk');
    const options = { cacheDir: join(dir.path, 'cache') };
    expect(await materializeRepo({ kind: 'bundle', file: join(dir.path, 'r.bundle'), ref: first }, join(dir.path, 'c'), options)).toBe(first);
    expect(readFileSync(join(dir.path, 'c', 'a.txt'), 'utf8')).toBe('one\n');
    expect(await materializeRepo({ kind: 'path', dir: src }, join(dir.path, 'd'), options)).toBe(git(src, 'rev-parse', 'HEAD'));
    expect(git(join(dir.path, 'd'), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    const plain = join(dir.path, 'plain');
    mkdirSync(join(plain, 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(plain, 'node_modules', 'x', 'i.js'), '');
    writeFileSync(join(plain, 'f.js'), 'f\n');
    await materializeRepo({ kind: 'path', dir: plain }, join(dir.path, 'e'), options);
    expect(git(join(dir.path, 'e'), 'ls-files')).toBe('f.js');
  });
});
