import { realpathSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Injectable, Optional } from '@nestjs/common';
import { WorktreeOwner } from '../sandbox/worktree-owner.js';
import { checkRelativePath, resolveInside, UnsafePathError } from './path-guard.js';

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

/** Reading and writing a worktree's files, always through the path guard. */
@Injectable()
export class WorktreeFiles {
  constructor(@Optional() private readonly owner?: WorktreeOwner) {}

  /** Checks every path before anything is written, so a bad answer changes nothing. */
  check(root: string, paths: readonly string[]): void {
    for (const p of paths) {
      const target = resolveInside(root, p);
      // Writable as a file: not a directory, and no parent that is a file.
      for (let probe = target, first = true; ; probe = dirname(probe), first = false) {
        const info = statSync(probe, { throwIfNoEntry: false });
        if (info) {
          if (first && info.isDirectory()) throw new UnsafePathError(p, 'is a directory, not a file');
          if (!first && !info.isDirectory()) throw new UnsafePathError(p, `cannot be created: ${relative(realpathSync(root), probe)} is a file`);
          break;
        }
        if (dirname(probe) === probe) break;
      }
    }
  }

  async write(root: string, files: readonly FileContent[]): Promise<void> {
    this.check(root, files.map((f) => f.path));
    for (const f of files) {
      // Checked again right before writing: an earlier file of the same answer may have created a directory.
      const target = resolveInside(root, f.path);
      const created = await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.content, 'utf8');
      this.adopt(root, target, created);
    }
  }

  /**
   * Replaces `oldText` with `newText` in a file: exactly once, or everywhere with `replaceAll`.
   * Refuses text that is missing, or found several times without `replaceAll`, saying so.
   */
  async edit(root: string, path: string, oldText: string, newText: string, replaceAll = false): Promise<{ replacements: number }> {
    const target = resolveInside(root, path);
    const info = await stat(target).catch(() => undefined);
    if (!info?.isFile()) throw new UnsafePathError(path, 'is not an existing file; create it with write_file');
    if (oldText === '') throw new Error('old_text is empty; give the exact text to replace');
    const content = await readFile(target, 'utf8');
    const count = content.split(oldText).length - 1;
    if (count === 0) throw new Error(`old_text was not found in ${path}; read the file and copy the text exactly (whitespace included)`);
    if (count > 1 && !replaceAll) throw new Error(`old_text occurs ${count} times in ${path}; give more surrounding text so it is unique, or set replace_all`);
    const next = replaceAll ? content.split(oldText).join(newText) : content.replace(oldText, () => newText);
    await writeFile(target, next, 'utf8');
    return { replacements: replaceAll ? count : 1 };
  }

  /** Files under `dir` (the root when empty), sorted, at most `limit`; `.git` and node_modules skipped. */
  async list(root: string, dir: string, limit: number): Promise<{ files: ListedFile[]; more: number }> {
    const realRoot = realpathSync(root);
    const start = dir.trim() === '' || dir.trim() === '.' ? realRoot : resolveInside(root, dir);
    const info = await stat(start).catch(() => undefined);
    if (!info?.isDirectory()) throw new UnsafePathError(dir, 'is not a directory of the repository');
    const files: ListedFile[] = [];
    let more = 0;
    const walk = async (abs: string): Promise<void> => {
      const entries = (await readdir(abs, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        const full = join(abs, e.name);
        if (e.isDirectory()) {
          if (!SKIPPED_DIRS.has(e.name)) await walk(full);
        } else if (e.isFile() || e.isSymbolicLink()) {
          if (files.length >= limit) more += 1;
          else files.push({ path: relative(realRoot, full), size: e.isFile() ? (await stat(full)).size : 0 });
        }
      }
    };
    await walk(start);
    return { files, more };
  }

  /** A text file's content, or undefined when it is missing, not a file, binary or larger than maxBytes. */
  async readText(root: string, path: string, maxBytes: number): Promise<string | undefined> {
    let target: string;
    try {
      target = resolveInside(root, path);
    } catch {
      return undefined;
    }
    try {
      const info = await stat(target);
      if (!info.isFile() || info.size > maxBytes) return undefined;
      const bytes = await readFile(target);
      if (bytes.includes(0)) return undefined;
      return bytes.toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /**
   * A file for the model to read: its text, or an error that says why not (missing, a
   * directory, binary, too large), through the path guard.
   */
  async readForModel(root: string, path: string, maxBytes: number): Promise<string> {
    checkRelativePath(path);
    const target = resolveInside(root, path);
    const info = await stat(target).catch(() => undefined);
    if (!info) throw new UnsafePathError(path, 'does not exist');
    if (!info.isFile()) throw new UnsafePathError(path, 'is a directory; use list_files');
    if (info.size > maxBytes) throw new UnsafePathError(path, `is ${info.size} bytes, more than the ${maxBytes} a read may return; search it instead`);
    const bytes = await readFile(target);
    if (bytes.includes(0)) throw new UnsafePathError(path, 'is a binary file');
    return bytes.toString('utf8');
  }

  /** The runner as root writing into a worktree handed to the sandbox user: the new file and directories go to that user too. */
  private adopt(root: string, file: string, createdDir: string | undefined): void {
    if (!this.owner) return;
    const paths = [file];
    if (createdDir) for (let d = dirname(file); d.length >= createdDir.length; d = dirname(d)) paths.push(d);
    this.owner.adopt(root, paths);
  }
}
