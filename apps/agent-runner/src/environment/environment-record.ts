import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a worktree's environment is, kept in the worktree's git directory inside the mirror (the
 * runner's, out of any sandbox's reach): it lives and dies with the worktree, and a worktree made
 * anew (another runner, a wiped disk) has none.
 */
export interface EnvironmentRecord {
  setupCommand: string;
  imageId: string;
  lockHash: string;
  /** The worktree directory's inode: a worktree recreated at the same path is another one. */
  ino: number;
  paths: string[];
  from: 'setup' | 'cache';
  setupMs: number;
  at: string;
}

const FILE = 'agency-environment.json';

export function readRecord(gitDir: string): EnvironmentRecord | undefined {
  const file = join(gitDir, FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as EnvironmentRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(gitDir: string, record: EnvironmentRecord): void {
  const tmp = join(gitDir, `${FILE}.${randomUUID()}`);
  writeFileSync(tmp, JSON.stringify(record, null, 2));
  renameSync(tmp, join(gitDir, FILE));
}

export function dropRecord(gitDir: string): void {
  rmSync(join(gitDir, FILE), { force: true });
}

/** Whether the record still describes the worktree's environment for these inputs. */
export function isCurrent(
  record: EnvironmentRecord | undefined,
  worktree: string,
  want: Pick<EnvironmentRecord, 'setupCommand' | 'imageId' | 'lockHash'>,
): record is EnvironmentRecord {
  if (!record) return false;
  const ino = statSync(worktree, { throwIfNoEntry: false })?.ino;
  return (
    record.ino === ino &&
    record.setupCommand === want.setupCommand &&
    record.imageId === want.imageId &&
    record.lockHash === want.lockHash &&
    stillThere(worktree, record.paths)
  );
}

/**
 * Whether what setup created is still in the worktree: an agent's command can remove it (a model
 * running `npm ci` in the sandbox, which deletes node_modules first and then finds no network).
 * Checked without following links; a directory must not be empty.
 */
function stillThere(worktree: string, paths: readonly string[]): boolean {
  for (const p of paths) {
    const full = join(worktree, p.replace(/\/$/, ''));
    const info = lstatSync(full, { throwIfNoEntry: false });
    if (!info) return false;
    if (p.endsWith('/') && (!info.isDirectory() || readdirSync(full).length === 0)) return false;
  }
  return true;
}
