import { createHash } from 'node:crypto';

export const ECOSYSTEMS = ['npm', 'python', 'go', 'cargo', 'ruby', 'php'] as const;
export type Ecosystem = (typeof ECOSYSTEMS)[number];

/** Lock files by file name (anywhere in the tree), and the ecosystem each one shows. */
const LOCK_FILES: Array<{ name: RegExp; ecosystem: Ecosystem }> = [
  { name: /^(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?)$/, ecosystem: 'npm' },
  { name: /^(requirements[\w.-]*\.txt|poetry\.lock|uv\.lock|Pipfile\.lock|pdm\.lock)$/, ecosystem: 'python' },
  { name: /^go\.sum$/, ecosystem: 'go' },
  { name: /^Cargo\.lock$/, ecosystem: 'cargo' },
  { name: /^Gemfile\.lock$/, ecosystem: 'ruby' },
  { name: /^composer\.lock$/, ecosystem: 'php' },
];

/**
 * Manifests: where a directory has no lock file of its ecosystem (most small npm libraries ship
 * none), its manifest stands in, both as the evidence of the ecosystem (the proxy's default
 * allowlist) and as an input of the environment (a changed package.json installs again).
 */
const MANIFESTS: Array<{ name: RegExp; ecosystem: Ecosystem }> = [
  { name: /^package\.json$/, ecosystem: 'npm' },
  { name: /^(pyproject\.toml|setup\.py|setup\.cfg|Pipfile)$/, ecosystem: 'python' },
  { name: /^go\.mod$/, ecosystem: 'go' },
  { name: /^Cargo\.toml$/, ecosystem: 'cargo' },
  { name: /^Gemfile$/, ecosystem: 'ruby' },
  { name: /^composer\.json$/, ecosystem: 'php' },
];

/** The public registries of each ecosystem: the proxy's allowlist when the repository names none. */
export const DEFAULT_REGISTRIES: Record<Ecosystem, string[]> = {
  npm: ['registry.npmjs.org', 'registry.yarnpkg.com', 'repo.yarnpkg.com'],
  python: ['pypi.org', 'files.pythonhosted.org'],
  go: ['proxy.golang.org', 'sum.golang.org'],
  cargo: ['index.crates.io', 'static.crates.io', 'crates.io'],
  ruby: ['rubygems.org', 'index.rubygems.org'],
  php: ['repo.packagist.org', 'packagist.org'],
};

export interface LockFile {
  path: string;
  /** The blob's git object id: its content, as committed. */
  blob: string;
  ecosystem: Ecosystem;
}

/**
 * The files an environment depends on among `git ls-tree -r -z` entries (`<mode> blob
 * <oid>\t<path>`): every lock file, and each manifest whose directory has no lock file of its
 * ecosystem.
 */
export function lockFilesOf(lsTree: string): LockFile[] {
  const locks: LockFile[] = [];
  const manifests: LockFile[] = [];
  for (const entry of lsTree.split('\0')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
    if (!m) continue;
    const path = m[2]!;
    const name = path.slice(path.lastIndexOf('/') + 1);
    const lock = LOCK_FILES.find((l) => l.name.test(name));
    if (lock) locks.push({ path, blob: m[1]!, ecosystem: lock.ecosystem });
    const manifest = MANIFESTS.find((l) => l.name.test(name));
    if (manifest) manifests.push({ path, blob: m[1]!, ecosystem: manifest.ecosystem });
  }
  const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);
  const locked = new Set(locks.map((f) => `${f.ecosystem}:${dirOf(f.path)}`));
  const found = [...locks, ...manifests.filter((f) => !locked.has(`${f.ecosystem}:${dirOf(f.path)}`))];
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One hash for the lock files' paths and contents ('' hashes too: a repository without lock files). */
export function lockHash(files: readonly LockFile[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.path}\0${f.blob}\n`);
  return h.digest('hex');
}

/** The repository's own list, else the defaults of the ecosystems its lock files and manifests show. */
export function registriesFor(named: readonly string[] | undefined, files: readonly LockFile[]): string[] {
  if (named) return [...named];
  return [...new Set(files.flatMap((f) => DEFAULT_REGISTRIES[f.ecosystem]))];
}
