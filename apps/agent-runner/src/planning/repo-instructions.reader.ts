import { posix } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { GitClient } from '../git/git.client.js';
import { INSTRUCTION_FILES } from '../prompts/prompt-parts.js';

/** One instruction file, cut to fit. */
export interface RepoInstructions {
  path: string;
  content: string;
}

export const INSTRUCTION_LIMITS = { fileChars: 16_000, totalChars: 24_000 } as const;

/** Git's mode for a symbolic link in a tree. */
const SYMLINK_MODE = '120000';
/** A link's target is a path: anything longer is not one worth following. */
const LINK_TARGET_BYTES = 4096;

/**
 * The repository's own instructions for coding agents (AGENTS.md and the files other agents
 * read: CLAUDE.md, .github/copilot-instructions.md...), read from the mirror at the base commit,
 * as Codex, Copilot and OpenHands do. The planner puts them in the plan artifact, so the coder
 * and the reviewer read the same ones.
 *
 * The repository is not trusted: a file is read only up to what the prompt can show (a huge
 * AGENTS.md never lands whole in memory), and a symlinked one is followed only to another file of
 * the same commit (`CLAUDE.md -> AGENTS.md` is common); a link out of the repository is skipped
 * rather than shown as its target's path.
 */
@Injectable()
export class RepoInstructionsReader {
  constructor(@Inject(GitClient) private readonly git: Pick<GitClient, 'attempt' | 'runCapped'>) {}

  async read(mirrorDir: string, sha: string, tree: ReadonlyArray<{ path: string; size?: number }>): Promise<RepoInstructions[]> {
    const sizes = new Map(tree.map((f) => [f.path, f.size]));
    const candidates = INSTRUCTION_FILES.filter((p) => sizes.has(p));
    if (candidates.length === 0) return [];
    const modes = await this.modes(mirrorDir, sha, candidates);
    const out: RepoInstructions[] = [];
    const shown = new Set<string>();
    let total = 0;
    for (const path of candidates) {
      const room = Math.min(INSTRUCTION_LIMITS.fileChars, INSTRUCTION_LIMITS.totalChars - total);
      if (room <= 200) break;
      const source = modes.get(path) === SYMLINK_MODE ? await this.linkTarget(mirrorDir, sha, path, sizes) : path;
      // The same file under two names (a link to AGENTS.md) is shown once.
      if (!source || shown.has(source)) continue;
      const content = await this.excerpt(mirrorDir, sha, source, room, sizes.get(source));
      if (!content) continue;
      shown.add(source);
      out.push({ path, content });
      total += content.length;
    }
    return out;
  }

  /** The file's text, at most `room` characters of it; none for a binary or empty file. */
  private async excerpt(mirrorDir: string, sha: string, path: string, room: number, size: number | undefined): Promise<string | undefined> {
    // A character is at most 4 bytes of UTF-8: this many bytes always hold `room` characters.
    const shown = await this.git.runCapped(mirrorDir, ['show', `${sha}:${path}`], room * 4).catch(() => undefined);
    if (!shown || shown.stdout.includes('\0')) return undefined;
    const text = shown.stdout.trim();
    if (!text) return undefined;
    if (text.length <= room && !shown.truncated) return text;
    const rest = size !== undefined ? `${size} bytes in all` : 'longer';
    return `${text.slice(0, room)}\n[... the rest of ${path} not shown (${rest}) ...]`;
  }

  /** Each candidate's mode in the commit's tree (`100644`, or `120000` for a link). */
  private async modes(mirrorDir: string, sha: string, paths: readonly string[]): Promise<Map<string, string>> {
    const listed = await this.git.attempt(mirrorDir, ['ls-tree', '-z', '--full-tree', sha, '--', ...paths]);
    const modes = new Map<string, string>();
    if (!listed.ok) return modes;
    for (const entry of listed.stdout.split('\0')) {
      const m = /^(\d+) \w+ [0-9a-f]+\t(.+)$/s.exec(entry);
      if (m) modes.set(m[2]!, m[1]!);
    }
    return modes;
  }

  /** Where a linked instruction file leads, if that is a regular file of the same commit. */
  private async linkTarget(mirrorDir: string, sha: string, path: string, sizes: ReadonlyMap<string, number | undefined>): Promise<string | undefined> {
    const link = await this.git.runCapped(mirrorDir, ['show', `${sha}:${path}`], LINK_TARGET_BYTES).catch(() => undefined);
    if (!link || link.truncated) return undefined;
    const target = link.stdout.trim();
    if (!target || posix.isAbsolute(target)) return undefined;
    const resolved = posix.normalize(posix.join(posix.dirname(path), target));
    if (resolved === '..' || resolved.startsWith('../') || !sizes.has(resolved)) return undefined;
    // One hop only: a link to a link is not followed further.
    const mode = (await this.modes(mirrorDir, sha, [resolved])).get(resolved);
    return mode && mode !== SYMLINK_MODE ? resolved : undefined;
  }
}

/** The instructions a plan artifact carries (none in plans made before they were read). */
export function instructionsOf(storedPlan: unknown): RepoInstructions[] {
  const list = (storedPlan as { instructions?: unknown } | null)?.instructions;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (i): i is RepoInstructions => !!i && typeof (i as RepoInstructions).path === 'string' && typeof (i as RepoInstructions).content === 'string',
  );
}
