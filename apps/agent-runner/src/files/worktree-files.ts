import { realpathSync, statSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { Injectable } from '@nestjs/common';
import { resolveInside, UnsafePathError } from './path-guard.js';

export interface FileContent {
  path: string;
  content: string;
}

/** Reading and writing a worktree's files, always through the path guard. */
@Injectable()
export class WorktreeFiles {
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
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.content, 'utf8');
    }
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
}
