import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Injectable } from '@nestjs/common';
import type { FrRefusalCode } from '@agency/contracts';
import { AgencyConfigCache, FR_FOLDERS, parseFr, updateFr, type AgencyConfig, type FrFolder, type FrUpdate, type ParsedFr } from '@agency/vault';
import { OrchestratorConfig } from '../orchestrator.config.js';

/** An FR file's text, or why it cannot be read as one. */
/** The text with when it was last written (a file still being written may not parse yet), or why it cannot be taken. */
export type FrFileRead = { text: string; modifiedMs: number } | { code: Extract<FrRefusalCode, 'TOO_LARGE' | 'UNREADABLE' | 'BINARY'>; problem: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether a file name carries this FR id (FR-7.md, FR-7-title.md). */
function namesFr(path: string, frId: string): boolean {
  const name = basename(path);
  return name === `${frId}.md` || name.startsWith(`${frId}-`);
}

/** The orchestrator's only door to the vault's files. */
@Injectable()
export class VaultRepository {
  private readonly configCache: AgencyConfigCache;

  constructor(private readonly settings: OrchestratorConfig) {
    this.configCache = new AgencyConfigCache(settings.VAULT_PATH);
  }

  get root(): string {
    return this.settings.VAULT_PATH;
  }

  config(): AgencyConfig {
    return this.configCache.current();
  }

  /** Vault-relative paths of the markdown files in a folder. */
  list(folder: FrFolder): string[] {
    const dir = join(this.root, FR_FOLDERS[folder]);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.md') && !f.startsWith('.'))
      .sort()
      .map((f) => `${FR_FOLDERS[folder]}/${f}`);
  }

  /** Every file in the FR folders whose name carries this id (by name: no file is read). */
  filesOf(frId: string): Array<{ folder: FrFolder; path: string }> {
    return (Object.keys(FR_FOLDERS) as FrFolder[]).flatMap((folder) =>
      this.list(folder)
        .filter((p) => namesFr(p, frId))
        .map((path) => ({ folder, path })),
    );
  }

  /** Where an FR's file is now, by id (file name FR-1-... or FR-1.md), in any FR folder. */
  locate(frId: string): { folder: FrFolder; path: string } | undefined {
    return this.filesOf(frId)[0];
  }

  exists(relPath: string): boolean {
    return existsSync(join(this.root, relPath));
  }

  /**
   * Reads an FR file with its size checked first (a file over the limit is never read whole),
   * refusing what is not UTF-8 text (NUL bytes, invalid sequences) or cannot be read at all.
   */
  read(relPath: string, maxBytes: number): FrFileRead {
    const file = join(this.root, relPath);
    let fd: number | undefined;
    try {
      const { size, mtimeMs } = statSync(file);
      if (size > maxBytes) return { code: 'TOO_LARGE', problem: `the file is ${size} bytes; FR files may be at most ${maxBytes} bytes (FR_MAX_BYTES)` };
      fd = openSync(file, 'r');
      const bytes = Buffer.alloc(size);
      const read = size > 0 ? readSync(fd, bytes, 0, size, 0) : 0;
      const body = bytes.subarray(0, read);
      if (body.includes(0)) return { code: 'BINARY', problem: `the file is binary (a NUL byte at offset ${body.indexOf(0)}), not markdown text` };
      try {
        return { text: utf8.decode(body), modifiedMs: mtimeMs };
      } catch {
        return { code: 'BINARY', problem: 'the file is not UTF-8 text (invalid byte sequence)' };
      }
    } catch (e) {
      return { code: 'UNREADABLE', problem: `the file cannot be read: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim() };
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Throws FrParseError naming each problem. */
  parse(relPath: string, text: string): ParsedFr {
    const defaults = this.config().defaults;
    return parseFr(text, relPath, defaults.repo ? { repo: defaults.repo } : {});
  }

  update(relPath: string, update: FrUpdate, now: Date): string {
    return updateFr(this.root, relPath, update, now);
  }

  /** Moves a file to a folder as it is, bytes untouched; returns where it is now (unchanged when the name is taken there). */
  moveUnchanged(relPath: string, folder: FrFolder): string {
    const target = `${FR_FOLDERS[folder]}/${basename(relPath)}`;
    if (target === relPath || this.exists(target)) return relPath;
    mkdirSync(join(this.root, FR_FOLDERS[folder]), { recursive: true });
    renameSync(join(this.root, relPath), join(this.root, target));
    return target;
  }

  /** Whether an FR with this id sits in the done folder (depends_on of FRs done by hand), by file name. */
  isDone(frId: string): boolean {
    return this.filesOf(frId).some((f) => f.folder === 'done');
  }
}
