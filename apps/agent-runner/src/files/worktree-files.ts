import { closeSync, constants, fchownSync, fstatSync, readSync, writeSync } from 'node:fs';
import { Injectable, Optional } from '@nestjs/common';
import { WorktreeOwner, type SandboxUser } from '../sandbox/worktree-owner.js';
import { kindOf, type DirHandle } from './dir-handle.js';
import { checkRelativePath, locate, UnsafePathError, type Located, type LookupMode } from './path-guard.js';
import { WorktreeRoots, type OpenedRoot } from './worktree-roots.js';

export interface FileContent {
  path: string;
  content: string;
}

export interface ListedFile {
  path: string;
  size: number;
}

/** Directories never listed: git's own, and dependency trees a setup step installs. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** Entries a listing looks at before it stops counting (a tree of millions of files a command made). */
const LIST_SCAN_LIMIT = 100_000;
/** The largest file edit_file rewrites (it holds the file in memory twice). */
export const MAX_EDIT_BYTES = 5_000_000;

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_NONBLOCK } = constants;

/** Why a found entry cannot be read or written as a file, or undefined when it can. */
function notAFile(found: Located): string | undefined {
  const info = found.info;
  if (!info || found.parentMissing) return 'does not exist';
  if (info.isDirectory()) return 'is a directory';
  if (!info.isFile()) return `is ${kindOf(info)}, not a regular file; the file tools only read and write regular files`;
  // One inode under several names: a write here changes the other names too, wherever they are.
  if (info.nlink > 1) return `is a hard link (one of ${info.nlink} names of the same file); the file tools do not read or write hard-linked files`;
  return undefined;
}

/** Opens the found file (never following a link, never blocking on a fifo) and checks it is the entry that was looked at. */
function openFound(found: Located, flags: number): number {
  const fd = found.dir.openFile(found.name, flags | O_NONBLOCK);
  const now = fstatSync(fd);
  if (!now.isFile() || (found.info && (now.ino !== found.info.ino || now.dev !== found.info.dev))) {
    closeSync(fd);
    throw new UnsafePathError(found.path, 'changed while it was opened');
  }
  return fd;
}

/** At most `max` bytes of an open file, or undefined when it holds more (it may have grown since its size was read). */
function readAtMost(fd: number, max: number): Buffer | undefined {
  const buf = Buffer.alloc(max + 1);
  let got = 0;
  for (;;) {
    const n = readSync(fd, buf, got, buf.length - got, null);
    if (n === 0) break;
    got += n;
    if (got > max) return undefined;
  }
  return buf.subarray(0, got);
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Reading and writing a worktree's files. Every access opens the worktree root through
 * WorktreeRoots (the job's own directory, wherever it is, or WorkspaceTamperedError) and each
 * path one component at a time without following links (path-guard's `locate`): whatever a
 * sandboxed command left in the tree, no file outside it is read or written. Only regular files
 * with a single name are read or written; fifos, devices and sockets are never opened.
 */
@Injectable()
export class WorktreeFiles {
  private readonly roots: WorktreeRoots;

  constructor(
    @Optional() roots?: WorktreeRoots,
    @Optional() private readonly owner?: WorktreeOwner,
  ) {
    this.roots = roots ?? new WorktreeRoots();
  }

  /** Checks every path before anything is written, so a bad answer changes nothing. */
  check(root: string, paths: readonly string[]): void {
    this.withRoot(root, (opened) => {
      for (const p of paths) this.lookup(opened.handle, p, 'write', (found) => this.checkWritable(found, p));
    });
  }

  async write(root: string, files: readonly FileContent[]): Promise<void> {
    this.withRoot(root, (opened) => {
      const owner = this.owner?.ownerFor(opened.handle.stats);
      for (const f of files) this.lookup(opened.handle, f.path, 'write', (found) => this.checkWritable(found, f.path));
      for (const f of files) {
        this.lookup(
          opened.handle,
          f.path,
          'create',
          (found) => {
            // Checked again right before writing: an earlier file of the same answer may have created a directory.
            this.checkWritable(found, f.path);
            this.writeFound(found, f.content, owner);
          },
          owner,
        );
      }
    });
  }

  /**
   * Replaces `oldText` with `newText` in a file: exactly once, or everywhere with `replaceAll`.
   * Refuses text that is missing, or found several times without `replaceAll`, saying so.
   */
  async edit(root: string, path: string, oldText: string, newText: string, replaceAll = false): Promise<{ replacements: number }> {
    return this.withRoot(root, (opened) =>
      this.lookup(opened.handle, path, 'write', (found) => {
        const problem = notAFile(found);
        if (problem === 'does not exist' || problem === 'is a directory') throw new UnsafePathError(path, 'is not an existing file; create it with write_file');
        if (problem) throw new UnsafePathError(path, problem);
        if (oldText === '') throw new Error('old_text is empty; give the exact text to replace');
        const content = this.readFound(
          found,
          MAX_EDIT_BYTES,
          `is larger than the ${MAX_EDIT_BYTES} bytes edit_file handles; use apply_patch or write_file`,
        ).toString('utf8');
        const count = content.split(oldText).length - 1;
        if (count === 0) throw new Error(`old_text was not found in ${path}; read the file and copy the text exactly (whitespace included)`);
        if (count > 1 && !replaceAll)
          throw new Error(`old_text occurs ${count} times in ${path}; give more surrounding text so it is unique, or set replace_all`);
        const next = replaceAll ? content.split(oldText).join(newText) : content.replace(oldText, () => newText);
        this.writeFound(found, next, undefined);
        return { replacements: replaceAll ? count : 1 };
      }),
    );
  }

  /** Files under `dir` (the root when empty), sorted, at most `limit`; `.git` and node_modules skipped. */
  async list(root: string, dir: string, limit: number): Promise<{ files: ListedFile[]; more: number }> {
    return this.withRoot(root, (opened) => {
      const top = dir.trim() === '' || dir.trim() === '.';
      if (top) return this.walk(opened.handle, '', limit);
      return this.lookup(opened.handle, dir, 'read', (found) => {
        if (!found.info?.isDirectory() || found.parentMissing) throw new UnsafePathError(dir, 'is not a directory of the repository');
        const start = found.dir.openDir(found.name, found.info);
        try {
          return this.walk(start, found.path, limit);
        } finally {
          start.close();
        }
      });
    });
  }

  /** A text file's content, or undefined when it is missing, unsafe, not a file, binary or larger than maxBytes. */
  async readText(root: string, path: string, maxBytes: number): Promise<string | undefined> {
    return this.withRoot(root, (opened) => {
      try {
        return this.lookup(opened.handle, path, 'read', (found) => {
          if (notAFile(found)) return undefined;
          const bytes = this.readFound(found, maxBytes, 'too large');
          return bytes.includes(0) ? undefined : bytes.toString('utf8');
        });
      } catch (e) {
        if (e instanceof UnsafePathError) return undefined;
        throw e;
      }
    });
  }

  /**
   * A file for the model to read: its text, or an error that says why not (missing, a
   * directory, a fifo or device, binary, too large).
   */
  async readForModel(root: string, path: string, maxBytes: number): Promise<string> {
    checkRelativePath(path);
    return this.withRoot(root, (opened) =>
      this.lookup(opened.handle, path, 'read', (found) => {
        const problem = notAFile(found);
        if (problem === 'is a directory') throw new UnsafePathError(path, 'is a directory; use list_files');
        if (problem) throw new UnsafePathError(path, problem);
        const tooLarge = (size: number | string) => `is ${size} bytes, more than the ${maxBytes} a read may return; search it instead`;
        if (found.info!.size > maxBytes) throw new UnsafePathError(path, tooLarge(found.info!.size));
        const bytes = this.readFound(found, maxBytes, tooLarge('more than that now'));
        if (bytes.includes(0)) throw new UnsafePathError(path, 'is a binary file');
        return bytes.toString('utf8');
      }),
    );
  }

  private withRoot<T>(root: string, work: (opened: OpenedRoot) => T): T {
    const opened = this.roots.open(root);
    try {
      return work(opened);
    } finally {
      opened.close();
    }
  }

  private lookup<T>(handle: DirHandle, path: string, mode: LookupMode, work: (found: Located) => T, owner?: SandboxUser): T {
    const found = locate(handle, path, mode, owner ? { owner } : {});
    try {
      return work(found);
    } finally {
      found.release();
    }
  }

  private checkWritable(found: Located, path: string): void {
    if (found.parentMissing || !found.info) return;
    if (found.info.isDirectory()) throw new UnsafePathError(path, 'is a directory, not a file');
    const problem = notAFile(found);
    if (problem) throw new UnsafePathError(path, problem);
  }

  private readFound(found: Located, max: number, tooLarge: string): Buffer {
    const fd = openFound(found, O_RDONLY);
    try {
      const bytes = readAtMost(fd, max);
      if (!bytes) throw new UnsafePathError(found.path, tooLarge);
      return bytes;
    } finally {
      closeSync(fd);
    }
  }

  /** Writes the whole file; a new file goes to `owner` (the sandbox user, when the runner is root). */
  private writeFound(found: Located, content: string, owner: SandboxUser | undefined): void {
    const fd = openFound(found, O_WRONLY | O_CREAT | O_TRUNC);
    try {
      writeAll(fd, content);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
  }

  private walk(start: DirHandle, prefix: string, limit: number): { files: ListedFile[]; more: number } {
    const files: ListedFile[] = [];
    let more = 0;
    let scanned = 0;
    const visit = (dir: DirHandle, rel: string): void => {
      const entries = dir.entries().sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        if (++scanned > LIST_SCAN_LIMIT) return;
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (SKIPPED_DIRS.has(e.name)) continue;
          let sub: DirHandle;
          try {
            sub = dir.openDir(e.name);
          } catch {
            continue; // replaced by something else since it was listed
          }
          try {
            visit(sub, path);
          } finally {
            sub.close();
          }
        } else if (e.isFile() || e.isSymbolicLink()) {
          if (files.length >= limit) more += 1;
          else files.push({ path, size: e.isFile() ? (dir.lstat(e.name)?.size ?? 0) : 0 });
        }
      }
    };
    visit(start, prefix);
    return { files, more };
  }
}
