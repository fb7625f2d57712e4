import { constants, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

/** Where an agent-runner keeps its environment cache's entries under its WORK_DIR (apps/agent-runner environment-cache.ts). */
const ENTRIES = join('environments', 'entries');

/** The shared entries given to one stack, with their descriptions' modification times then. */
export type Seeded = Map<string, number>;

/** What one stack's agent-runner did with the shared environments. */
export interface EnvironmentUse {
  /** Entries it was given. */
  seeded: number;
  /** Of those, the ones it restored instead of running the setup. */
  restored: number;
  /** Entries it made (an install) that went into the shared folder. */
  stored: number;
}

/** The shared folder's size bound (least recently used entries go first). */
export const DEFAULT_SHARED_ENVIRONMENTS_MB = 4096;

/** A hard link where the disk allows one, else a copy; false when `to` exists already. */
function place(from: string, to: string): boolean {
  if (existsSync(to)) return false;
  try {
    linkSync(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EXDEV' && code !== 'EPERM') throw e;
    copyFileSync(from, to);
  }
  return true;
}

/** Keys of the complete entries of a folder: an archive and its description (written last). */
function keysIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const names = new Set(readdirSync(dir));
  return [...names].filter((n) => n.endsWith('.json') && names.has(`${n.slice(0, -5)}.tar`)).map((n) => n.slice(0, -5));
}

/**
 * Copies one entry, archive first: the runner only takes an entry whose description is there too.
 * `ownDescription`: the description is copied, not linked, so what the runner does to it (a
 * restore touches it) stays with this stack.
 */
function copyEntry(key: string, fromDir: string, toDir: string, ownDescription = false): boolean {
  mkdirSync(toDir, { recursive: true });
  const description = join(toDir, `${key}.json`);
  if (existsSync(description)) return false;
  place(join(fromDir, `${key}.tar`), join(toDir, `${key}.tar`));
  if (!ownDescription) return place(join(fromDir, `${key}.json`), description);
  copyFileSync(join(fromDir, `${key}.json`), description, constants.COPYFILE_EXCL);
  return true;
}

/**
 * The agent-runner's environment cache shared between the stacks of a suite run and later runs.
 * Every task runs on a stack of its own, so each agent-runner would install its repository's
 * dependencies from scratch; an entry is keyed by repository, image, setup command and lock files
 * (the same for every run of a task), so the oracle's install serves the wrong answer's run, and a
 * kept cache folder serves the next suite run. Archives are read-only and the runner never changes
 * them in place, so they are hard-linked (copied across disks); each stack gets its own copy of
 * their small descriptions, which the runner touches when it restores one. The runner still checks
 * nothing but the key: a stale entry is one whose key's inputs did not change.
 */
export class EnvironmentShare {
  constructor(
    readonly dir: string,
    private readonly maxBytes = DEFAULT_SHARED_ENVIRONMENTS_MB * 1024 * 1024,
  ) {}

  /** Before a stack starts: every shared entry into its agent-runner's cache; returns each one's description's time. */
  seed(agentRunnerWorkDir: string): Seeded {
    const target = join(agentRunnerWorkDir, ENTRIES);
    const seeded: Seeded = new Map();
    for (const key of keysIn(this.dir)) if (copyEntry(key, this.dir, target, true)) seeded.set(key, statSync(join(target, `${key}.json`)).mtimeMs);
    return seeded;
  }

  /**
   * After a stack stopped: the entries its agent-runner made go into the shared folder. Says what
   * the runner did with the cache: a restore touches the entry's description (the runner's
   * least-recently-used mark; each stack has its own copy), so a seeded entry whose time changed
   * was restored.
   */
  harvest(agentRunnerWorkDir: string, seeded: Seeded): EnvironmentUse {
    const source = join(agentRunnerWorkDir, ENTRIES);
    const keys = keysIn(source);
    const restored = keys.filter((key) => seeded.has(key) && statSync(join(source, `${key}.json`)).mtimeMs !== seeded.get(key));
    // Used now: the shared folder evicts it last.
    const now = new Date();
    for (const key of restored) if (existsSync(join(this.dir, `${key}.json`))) utimesSync(join(this.dir, `${key}.json`), now, now);
    const stored = keys.filter((key) => !seeded.has(key) && copyEntry(key, source, this.dir)).length;
    if (stored > 0) this.evict();
    return { seeded: seeded.size, restored: restored.length, stored };
  }

  /** Least recently used first (the runner touches an entry's description when it restores it), until the folder fits. */
  private evict(): void {
    const all = keysIn(this.dir)
      .map((key) => ({ key, used: statSync(join(this.dir, `${key}.json`)).mtimeMs, size: statSync(join(this.dir, `${key}.tar`)).size }))
      .sort((a, b) => a.used - b.used);
    let total = all.reduce((s, e) => s + e.size, 0);
    for (const e of all.slice(0, -1)) {
      if (total <= this.maxBytes) break;
      rmSync(join(this.dir, `${e.key}.json`), { force: true });
      rmSync(join(this.dir, `${e.key}.tar`), { force: true });
      total -= e.size;
    }
  }
}
