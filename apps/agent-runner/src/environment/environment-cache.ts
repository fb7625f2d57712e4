import { createHash, randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';

/** What identifies an environment: the same inputs give the same install. */
export interface EnvironmentKey {
  repo: string;
  imageId: string;
  setupCommand: string;
  lockHash: string;
}

/** A stored entry's description, written by the runner (never read from what a sandbox made). */
export interface CacheEntryMeta extends EnvironmentKey {
  key: string;
  /** The worktree paths the archive holds (what the setup created), as listed by host git. */
  paths: string[];
  sizeBytes: number;
  createdAt: string;
  /** How long the install took that made it. */
  setupMs: number;
}

/** The name of the archive a sandbox writes into its incoming folder. */
export const ARCHIVE_NAME = 'env.tar';
const KEY_VERSION = 'agency-env-1';

export function cacheKeyOf(k: EnvironmentKey): string {
  return createHash('sha256')
    .update(JSON.stringify([KEY_VERSION, k.repo, k.imageId, k.setupCommand, k.lockHash]))
    .digest('hex');
}

/**
 * Cached environments: a tar archive of what a setup created in the worktree, per repository,
 * image, setup command and lock files. Archives are made and unpacked inside sandboxes; the
 * runner only moves and copies their bytes. A sandbox writes a new archive into an empty folder
 * of its own (`incoming/<id>`, mounted read-write); the runner takes it only as a plain regular
 * file, makes it read-only and owned by the runner, and links it in under its key, never over an
 * existing entry; a restoring sandbox gets the one archive mounted read-only. So no sandbox can
 * change a stored entry or see another repository's.
 */
@Injectable()
export class EnvironmentCache {
  readonly root: string;
  private readonly maxBytes: number;

  constructor(config: AgentRunnerConfig) {
    this.root = join(resolve(config.WORK_DIR), 'environments');
    this.maxBytes = config.ENV_CACHE_MAX_MB * 1024 * 1024;
  }

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  private get entries(): string {
    return join(this.root, 'entries');
  }

  lookup(key: string): { archive: string; meta: CacheEntryMeta } | undefined {
    if (!this.enabled) return undefined;
    const archive = join(this.entries, `${key}.tar`);
    const metaFile = join(this.entries, `${key}.json`);
    if (!existsSync(archive) || !existsSync(metaFile)) return undefined;
    let meta: CacheEntryMeta;
    try {
      meta = JSON.parse(readFileSync(metaFile, 'utf8')) as CacheEntryMeta;
    } catch {
      return undefined;
    }
    const now = new Date();
    // Recently used entries are evicted last.
    utimesSync(metaFile, now, now);
    return { archive, meta };
  }

  /** An empty folder a sandbox may write a new archive into, owned by the sandbox's user. */
  incoming(user: { uid: number; gid: number }): string {
    const dir = join(this.root, 'incoming', randomUUID());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) lchownSync(dir, user.uid, user.gid);
    return dir;
  }

  discardIncoming(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Takes the archive a sandbox left in `incoming` (after its container is gone) and stores it
   * under `meta.key`. Returns why not when it is not a plain file or the entry exists already.
   */
  store(incoming: string, meta: Omit<CacheEntryMeta, 'sizeBytes' | 'createdAt'>): { stored: true; sizeBytes: number } | { stored: false; reason: string } {
    try {
      const file = join(incoming, ARCHIVE_NAME);
      const info = lstatSync(file, { throwIfNoEntry: false });
      if (!info?.isFile() || info.nlink !== 1) return { stored: false, reason: `the sandbox left no plain ${ARCHIVE_NAME}` };
      if (info.size > this.maxBytes) return { stored: false, reason: `the archive (${info.size} bytes) is larger than ENV_CACHE_MAX_MB` };
      mkdirSync(this.entries, { recursive: true });
      const final = join(this.entries, `${meta.key}.tar`);
      if (existsSync(final)) return { stored: false, reason: 'an entry for the key exists already' };
      const taken = join(this.entries, `.taking-${randomUUID()}`);
      renameSync(file, taken);
      if (process.getuid?.() === 0) lchownSync(taken, 0, 0);
      chmodSync(taken, 0o444);
      try {
        linkSync(taken, final);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { stored: false, reason: 'an entry for the key exists already' };
        throw e;
      } finally {
        unlinkSync(taken);
      }
      const full: CacheEntryMeta = { ...meta, sizeBytes: info.size, createdAt: new Date().toISOString() };
      const tmp = join(this.entries, `.meta-${randomUUID()}`);
      writeFileSync(tmp, JSON.stringify(full, null, 2));
      renameSync(tmp, join(this.entries, `${meta.key}.json`));
      this.evict(meta.key);
      return { stored: true, sizeBytes: info.size };
    } finally {
      this.discardIncoming(incoming);
    }
  }

  /** Removes the least recently used entries until the cache fits ENV_CACHE_MAX_MB (never `keep`). */
  private evict(keep: string): void {
    const all = readdirSync(this.entries)
      .filter((n) => n.endsWith('.json'))
      .map((n) => {
        const key = n.slice(0, -5);
        const archive = join(this.entries, `${key}.tar`);
        return { key, used: statSync(join(this.entries, n)).mtimeMs, size: existsSync(archive) ? statSync(archive).size : 0 };
      })
      .sort((a, b) => a.used - b.used);
    let total = all.reduce((n, e) => n + e.size, 0);
    for (const e of all) {
      if (total <= this.maxBytes) break;
      if (e.key === keep) continue;
      rmSync(join(this.entries, `${e.key}.tar`), { force: true });
      rmSync(join(this.entries, `${e.key}.json`), { force: true });
      total -= e.size;
    }
  }
}
