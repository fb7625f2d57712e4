import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitEnv } from '@agency/git';
import type { RepoSource } from './suite.loader.js';

export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org';

/** A fixed author and date: the same source gives the same base commit on every machine. */
const GIT_ENV = {
  ...gitEnv(),
  GIT_AUTHOR_NAME: 'Agency eval',
  GIT_AUTHOR_EMAIL: 'eval@agency.localhost',
  GIT_COMMITTER_NAME: 'Agency eval',
  GIT_COMMITTER_EMAIL: 'eval@agency.localhost',
  GIT_AUTHOR_DATE: '2000-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2000-01-01T00:00:00Z',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

export interface SourceOptions {
  registry?: string;
  /** Downloaded tarballs, by integrity: a second run reads them from here. */
  cacheDir: string;
}

interface NpmVersion {
  dist?: { tarball?: string; integrity?: string; shasum?: string };
}

/** Checks a tarball against the registry's `integrity` (sha512, Subresource Integrity form) or `shasum` (sha1). */
export function checkIntegrity(data: Buffer, dist: NonNullable<NpmVersion['dist']>, what: string): void {
  const sri = dist.integrity?.split(/\s+/).find((s) => s.startsWith('sha512-'));
  if (sri) {
    const actual = `sha512-${createHash('sha512').update(data).digest('base64')}`;
    if (actual !== sri) throw new Error(`${what}: the tarball's sha512 ${actual} is not the registry's ${sri}`);
    return;
  }
  if (dist.shasum) {
    const actual = createHash('sha1').update(data).digest('hex');
    if (actual !== dist.shasum) throw new Error(`${what}: the tarball's sha1 ${actual} is not the registry's ${dist.shasum}`);
    return;
  }
  throw new Error(`${what}: the registry gives no integrity or shasum for the tarball`);
}

async function fetchOk(url: string, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    throw new Error(`${what}: cannot reach ${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
  }
  if (!res.ok) throw new Error(`${what}: ${url} answered ${res.status}`);
  return res;
}

/** The package's tarball at an exact version, from the cache or the registry, checked against its integrity. */
export async function npmTarball(spec: string, options: SourceOptions): Promise<string> {
  const at = spec.lastIndexOf('@');
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  const registry = (options.registry ?? DEFAULT_NPM_REGISTRY).replace(/\/+$/, '');
  const packument = (await (await fetchOk(`${registry}/${name.replace('/', '%2f')}`, spec)).json()) as { versions?: Record<string, NpmVersion> };
  const dist = packument.versions?.[version]?.dist;
  if (!dist?.tarball) throw new Error(`${spec}: the registry has no version ${version} of ${name}`);
  const key = createHash('sha256')
    .update(dist.integrity ?? dist.shasum ?? dist.tarball)
    .digest('hex')
    .slice(0, 32);
  const file = join(options.cacheDir, 'npm', `${name.replace('/', '+')}-${version}-${key}.tgz`);
  if (existsSync(file)) {
    checkIntegrity(readFileSync(file), dist, spec);
    return file;
  }
  const data = Buffer.from(await (await fetchOk(dist.tarball, spec)).arrayBuffer());
  checkIntegrity(data, dist, spec);
  mkdirSync(join(options.cacheDir, 'npm'), { recursive: true });
  writeFileSync(file, data);
  return file;
}

function commitAll(dir: string, message: string): string {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A', '-f', '--', '.', ':!node_modules');
  git(dir, 'commit', '-q', '--allow-empty', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/**
 * Makes `target` a git repository whose `main` is the task's base commit, and returns that
 * commit: an npm package's published files (one commit, a fixed author and date), a bundle's or
 * a local repository's ref, or a local folder's files.
 */
export async function materializeRepo(source: RepoSource, target: string, options: SourceOptions): Promise<string> {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  switch (source.kind) {
    case 'npm': {
      const tarball = await npmTarball(source.spec, options);
      // The registry's tarballs hold one top folder (package/ for most): its contents are the tree.
      execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1', '--no-same-owner', '--no-same-permissions'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      return commitAll(target, `${source.spec} as published on the npm registry`);
    }
    case 'bundle': {
      git(target, 'clone', '-q', '--no-checkout', source.file, '.');
      const sha = git(target, 'rev-parse', `${source.ref ?? 'HEAD'}^{commit}`);
      git(target, 'checkout', '-q', '-B', 'main', sha);
      return sha;
    }
    case 'path': {
      if (existsSync(join(source.dir, '.git'))) {
        git(target, 'clone', '-q', '--no-local', '--no-checkout', source.dir, '.');
        const sha = git(target, 'rev-parse', `${source.ref ?? 'HEAD'}^{commit}`);
        git(target, 'checkout', '-q', '-B', 'main', sha);
        return sha;
      }
      if (source.ref) throw new Error(`${source.dir}: ref ${source.ref} given, but the folder is not a git repository`);
      cpSync(source.dir, target, { recursive: true, filter: (p) => !/(^|\/)(node_modules|\.git)(\/|$)/.test(p.slice(source.dir.length)) });
      return commitAll(target, `${source.dir} as found`);
    }
  }
}

/** The base repository as a bare repository of the task's local forge. */
export function seedForge(repoDir: string, bare: string): void {
  rmSync(bare, { recursive: true, force: true });
  mkdirSync(bare, { recursive: true });
  git(bare, 'clone', '-q', '--bare', '--no-local', '--single-branch', '--branch', 'main', repoDir, '.');
}
