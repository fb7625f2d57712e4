import { chmodSync, closeSync, constants, fstatSync, lstatSync, openSync, rmSync, type RmOptions } from 'node:fs';
import { DirHandle } from './dir-handle.js';

/** Linux's O_PATH (not in fs.constants): a descriptor that names an inode without needing read permission on it. */
const O_PATH = 0o10000000;
const { O_DIRECTORY, O_NOFOLLOW } = constants;

function isAccessError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * Gives the owner read, write and search permission on a directory again, never on a link's
 * target: a sandboxed command runs as the runner's own user (deploy/k8s) and may have made a
 * directory of the slot or the worktree unreadable (`chmod 000`), which stops the runner from
 * looking into, renaming or removing it. An O_RDONLY open needs the read permission that is gone;
 * an O_PATH one does not, and chmod through `/proc/self/fd/<fd>` changes exactly that inode.
 */
export function giveOwnerAccess(dir: string): void {
  const fd = openSync(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  try {
    const mode = fstatSync(fd).mode & 0o7777;
    if ((mode & 0o700) !== 0o700) chmodSync(`/proc/self/fd/${fd}`, mode | 0o700);
  } finally {
    closeSync(fd);
  }
}

/** Every directory in the tree (links are not followed) with the owner's access back; entries are reached through their parent's descriptor. */
export function openUpTree(dir: string): void {
  giveOwnerAccess(dir);
  const handle = DirHandle.open(dir);
  try {
    for (const entry of handle.entries()) if (entry.isDirectory()) openUpTree(handle.at(entry.name));
  } finally {
    handle.close();
  }
}

/**
 * Removes a tree that a sandboxed command may have written: links are removed, never followed
 * (rmSync), and when a directory in it was made unreadable or unwritable the owner's access is
 * given back first, so what a command left cannot make the runner fail to remove it (a slot left
 * on disk, and a runner that cannot restart: its recovery removes all slots).
 */
export function removeTree(path: string, options: Pick<RmOptions, 'maxRetries' | 'retryDelay'> = {}): void {
  const remove = () => rmSync(path, { recursive: true, force: true, ...options });
  try {
    return remove();
  } catch (e) {
    if (!isAccessError(e)) throw e;
  }
  if (lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) openUpTree(path);
  remove();
}
