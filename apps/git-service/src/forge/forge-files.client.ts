import { randomUUID } from 'node:crypto';
import { access, link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Injectable } from '@nestjs/common';

function isCode(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

/** The local forge's file system: whole-file writes that readers never see half done. */
@Injectable()
export class ForgeFilesClient {
  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  }

  /** Names in `dir`; none when it does not exist yet. */
  async list(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (e) {
      if (isCode(e, 'ENOENT')) return [];
      throw e;
    }
  }

  async read(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  /** Replaces `path` whole: a temp file beside it, then rename. */
  async writeAtomic(path: string, text: string): Promise<void> {
    const temp = await this.writeTemp(path, text);
    try {
      await rename(temp, path);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
  }

  /**
   * Creates `path` with `text` only if it does not exist, whole or not at all: the content goes
   * to a temp file that is then hard-linked to the name (link fails on an existing name, even
   * against another process). Returns false when the name was taken.
   */
  async createExclusive(path: string, text: string): Promise<boolean> {
    const temp = await this.writeTemp(path, text);
    try {
      await link(temp, path);
      return true;
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw e;
    } finally {
      await rm(temp, { force: true });
    }
  }

  private async writeTemp(path: string, text: string): Promise<string> {
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    await writeFile(temp, text, { encoding: 'utf8', flag: 'wx' });
    return temp;
  }
}
