import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { GitClient } from './git.client.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { JobWorkspace } from './workspace.service.js';

/** Matches `git grep` shows per file (`--max-count`), for the coder's and the planner's search. */
export const SEARCH_PER_FILE = 50;

/** Some file of `path:line:text` results had as many matches as git shows: there may be more. */
export function reachedPerFileCap(lines: readonly string[]): boolean {
  const perFile = new Map<string, number>();
  for (const l of lines) {
    const file = l.slice(0, l.indexOf(':'));
    perFile.set(file, (perFile.get(file) ?? 0) + 1);
  }
  return [...perFile.values()].some((n) => n >= SEARCH_PER_FILE);
}

export interface GrepResult {
  /** `path:line:text`, at most the requested number. */
  lines: string[];
  more: boolean;
}

/** The coder's git-backed tools in a job's worktree: search with git grep, apply a patch with git apply. */
@Injectable()
export class WorktreeGit {
  private readonly tmpDir: string;

  constructor(
    config: AgentRunnerConfig,
    private readonly git: GitClient,
    private readonly locks: KeyedMutex,
  ) {
    this.tmpDir = join(resolve(config.WORK_DIR), 'tmp');
  }

  /**
   * Lines matching `pattern` (fixed text, or a POSIX extended regex) in tracked and untracked,
   * not ignored, text files; `path` narrows to a file or directory. git runs it, with its own
   * timeout, so a pathological pattern cannot stall the runner.
   */
  async grep(job: JobWorkspace, pattern: string, options: { regex: boolean; path?: string; max: number }): Promise<GrepResult> {
    const args = [
      'grep',
      '--untracked',
      '-n',
      '-I',
      '--no-color',
      '--full-name',
      `--max-count=${SEARCH_PER_FILE}`,
      options.regex ? '-E' : '-F',
      '-e',
      pattern,
      '--',
      ...(options.path ? [`:(literal)${options.path}`] : []),
    ];
    const found = await this.git.attemptInTree(job, args);
    if (!found.ok) {
      if (found.error.exitCode === 1) return { lines: [], more: false };
      throw found.error;
    }
    const lines = found.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (l.length > 400 ? `${l.slice(0, 400)}...` : l));
    return { lines: lines.slice(0, options.max), more: lines.length > options.max || reachedPerFileCap(lines) };
  }

  /**
   * Applies a unified diff to the worktree's files (not the index); git refuses paths outside the
   * tree and through symlinks. A patch that does not apply as it is is tried again with less
   * context required: git anchors a hunk with no context after its change to the end of the file
   * (and one with none before to its start), which models write often (seen in a relay trial),
   * and only relaxes that when it may drop context (`-C1`, and `-C0` when every hunk removes a
   * line, so the removed lines still have to match and no pure insertion can land anywhere).
   * `reducedContext` says a second try was needed; the first refusal is what is thrown. No
   * `--recount`: the caller gives hunk headers with true counts (`withRecountedHunks`), and git's
   * own recount reads on through the next file's `--- a/x` line.
   */
  async applyPatch(job: JobWorkspace, patch: string, strip: 0 | 1, options: { everyHunkRemoves?: boolean } = {}): Promise<{ reducedContext: boolean }> {
    mkdirSync(this.tmpDir, { recursive: true });
    const file = join(this.tmpDir, `${randomUUID()}.patch`);
    await writeFile(file, patch.endsWith('\n') ? patch : `${patch}\n`, 'utf8');
    const apply = (extra: string[]) => this.git.runInTree(job, ['apply', '--whitespace=nowarn', ...extra, `-p${strip}`, file]);
    try {
      return await this.locks.run(job.mirrorDir, async () => {
        try {
          await apply([]);
          return { reducedContext: false };
        } catch (exact) {
          for (const context of options.everyHunkRemoves ? ['-C1', '-C0'] : ['-C1']) {
            try {
              await apply([context]);
              return { reducedContext: true };
            } catch {
              // The next, looser try; the exact refusal is what the model reads.
            }
          }
          throw exact;
        }
      });
    } finally {
      await rm(file, { force: true });
    }
  }
}
