import { isAbsolute } from 'node:path';
import type { Stats } from 'node:fs';
import { kindOf, type DirHandle } from './dir-handle.js';
import { UnsafePathError } from './path-errors.js';
import { openWorktreeRoot } from './worktree-roots.js';

export { UnsafePathError, WorkspaceTamperedError } from './path-errors.js';

const MAX_PATH_LENGTH = 1000;
/** As the kernel's own limit on links followed in one lookup. */
const MAX_LINKS = 40;

const isGitDir = (name: string): boolean => name.toLowerCase() === '.git';

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
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || isAbsolute(path))
    throw new UnsafePathError(path, 'is absolute; paths must be relative to the repository root');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafePathError(path, 'contains ".." and would leave the repository');
  if (parts.length === 0) throw new UnsafePathError(path, 'names the repository root, not a file');
  if (parts.some(isGitDir)) throw new UnsafePathError(path, "is inside .git; git's own files are off limits");
  return parts.join('/');
}

/**
 * How a lookup treats links and missing directories:
 * - `read`: relative links that stay inside the worktree are followed (their text resolved from
 *   the worktree's root, never by the kernel); absolute links and links leading out are refused;
 * - `write`: no link anywhere on the path (a write through a link would change a file other
 *   than the one committed); a missing directory ends the lookup (it would be created);
 * - `create`: as `write`, and missing directories are created.
 */
export type LookupMode = 'read' | 'write' | 'create';

/** Where a path ends: the open directory that holds (or would hold) its last component. */
export interface Located {
  dir: DirHandle;
  name: string;
  /** The path as resolved (links followed), relative to the root. */
  path: string;
  /** The entry itself, undefined when it does not exist. */
  info: Stats | undefined;
  /** A directory on the way does not exist (write mode): nothing below it exists either. */
  parentMissing: boolean;
  /** Closes the directories opened on the way (never the root). */
  release(): void;
}

export interface LookupOptions {
  /** Who directories created in `create` mode are given to (a root runner writing for the sandbox user). */
  owner?: { uid: number; gid: number };
}

/**
 * Looks `path` up under the open root directory one component at a time, each opened relative
 * to its parent's descriptor with O_NOFOLLOW (see DirHandle): no link on the way is followed by
 * the kernel, and nothing outside the root can be reached, whatever the sandbox left in the tree.
 */
export function locate(root: DirHandle, path: string, mode: LookupMode, options: LookupOptions = {}): Located {
  const queue = checkRelativePath(path).split('/');
  const stack: DirHandle[] = [root];
  const names: string[] = [];
  let links = 0;
  const release = () => {
    for (const d of stack.splice(1)) d.close();
  };
  const shown = (name: string) => [...names, name].join('/');
  try {
    for (;;) {
      const name = queue.shift()!;
      const top = stack[stack.length - 1]!;
      const last = queue.length === 0;
      if (name === '' || name === '.') {
        if (last) throw new UnsafePathError(path, 'names a directory, not a file');
        continue;
      }
      if (name === '..') {
        // Only a link's text gets here (checkRelativePath refuses it in the path itself).
        if (stack.length === 1) throw new UnsafePathError(path, 'goes through a symlink pointing outside the repository');
        stack.pop()!.close();
        names.pop();
        if (last) throw new UnsafePathError(path, 'names a directory, not a file');
        continue;
      }
      if (isGitDir(name)) throw new UnsafePathError(path, "leads into .git through a symlink; git's own files are off limits");
      const info = top.lstat(name);
      if (info?.isSymbolicLink()) {
        const target = top.readlink(name);
        const where = `${shown(name)} -> ${target}`;
        // An absolute target is outside by definition: the sandbox and the host see different absolute paths.
        if (target.startsWith('/') || leavesRoot(names.length, target)) {
          throw new UnsafePathError(path, `${last ? 'is a symlink' : 'goes through a symlink'} pointing outside the repository (${where})`);
        }
        if (mode !== 'read')
          throw new UnsafePathError(
            path,
            last ? `is a symlink (${where}); write to the file it points to instead` : `goes through a symlink (${where}); use the real path`,
          );
        if (++links > MAX_LINKS) throw new UnsafePathError(path, 'goes through too many symlinks');
        queue.unshift(...target.split('/'));
        continue;
      }
      if (last) {
        const located: Located = { dir: top, name, path: shown(name), info, parentMissing: false, release };
        return located;
      }
      if (!info) {
        if (mode !== 'create') return { dir: top, name, path: shown(name), info: undefined, parentMissing: true, release };
        top.mkdir(name);
        const created = top.openDir(name);
        if (options.owner) created.chownSelf(options.owner.uid, options.owner.gid);
        stack.push(created);
      } else if (info.isDirectory()) {
        stack.push(top.openDir(name, info));
      } else {
        throw new UnsafePathError(path, `cannot be reached: ${shown(name)} is ${kindOf(info)}, not a directory`);
      }
      names.push(name);
    }
  } catch (e) {
    release();
    throw e;
  }
}

/** A relative link's text, read in a directory `depth` levels below the root, climbs above the root at some point. */
function leavesRoot(depth: number, target: string): boolean {
  let d = depth;
  for (const part of target.split('/')) {
    if (part === '..') d -= 1;
    else if (part !== '' && part !== '.') d += 1;
    if (d < 0) return true;
  }
  return false;
}

/**
 * Checks that `path` can be written inside the worktree at `root` (no link, no `..`, no `.git`,
 * no file where a directory must be) and returns where it is on disk. For checks only: reading
 * and writing go through WorktreeFiles, which hold the directories open.
 */
export function resolveInside(root: string, path: string): string {
  const opened = openWorktreeRoot(root);
  try {
    const found = locate(opened.handle, path, 'write');
    found.release();
    return `${opened.path}/${checkRelativePath(path)}`;
  } finally {
    opened.close();
  }
}
