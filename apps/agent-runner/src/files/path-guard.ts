import { lstatSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** A path the model asked for that would leave the worktree or touch git's own files. */
export class UnsafePathError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`path "${path}" ${problem}`);
    this.name = 'UnsafePathError';
  }
}

const MAX_PATH_LENGTH = 1000;

/**
 * Checks a repository-relative path on its own (no file system): forward slashes, no absolute
 * path, no `..`, no `.git`. Returns the normalized path ("./src//a.js" -> "src/a.js").
 */
export function checkRelativePath(path: string): string {
  if (typeof path !== 'string' || path.trim() === '') throw new UnsafePathError(String(path), 'is empty');
  if (path.length > MAX_PATH_LENGTH) throw new UnsafePathError(path.slice(0, 80), `is longer than ${MAX_PATH_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\0-\x1f]/.test(path)) throw new UnsafePathError(path, 'contains control characters');
  if (path.includes('\\')) throw new UnsafePathError(path, 'contains a backslash; use forward slashes, relative to the repository root');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || isAbsolute(path)) throw new UnsafePathError(path, 'is absolute; paths must be relative to the repository root');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafePathError(path, 'contains ".." and would leave the repository');
  if (parts.length === 0) throw new UnsafePathError(path, 'names the repository root, not a file');
  if (parts.some((p) => p.toLowerCase() === '.git')) throw new UnsafePathError(path, "is inside .git; git's own files are off limits");
  return parts.join('/');
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves a repository-relative path inside `root` and checks, on disk, that no symlink along
 * it (the file itself or any existing parent directory) points outside the worktree. Returns
 * the absolute path to write or read.
 */
export function resolveInside(root: string, path: string): string {
  const normalized = checkRelativePath(path);
  const realRoot = realpathSync(root);
  const target = resolve(realRoot, normalized);
  // The deepest part of the path that exists decides: everything below it is created by us as plain directories.
  let probe = target;
  for (;;) {
    let isLink = false;
    try {
      isLink = lstatSync(probe).isSymbolicLink();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (probe === realRoot) break;
      probe = dirname(probe);
      continue;
    }
    let real: string;
    try {
      real = realpathSync(probe);
    } catch {
      throw new UnsafePathError(path, `goes through ${relative(realRoot, probe) || '.'}, a symlink whose target does not exist`);
    }
    if (!isInside(realRoot, real)) {
      const what = isLink && probe === target ? 'is a symlink' : 'goes through a symlink';
      throw new UnsafePathError(path, `${what} pointing outside the repository (${relative(realRoot, probe) || '.'} -> ${real})`);
    }
    break;
  }
  return target;
}
