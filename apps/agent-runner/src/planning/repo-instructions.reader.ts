import { Injectable } from '@nestjs/common';
import { GitClient } from '../git/git.client.js';
import { INSTRUCTION_FILES } from '../prompts/prompt-parts.js';

/** One instruction file, cut to fit. */
export interface RepoInstructions {
  path: string;
  content: string;
}

export const INSTRUCTION_LIMITS = { fileChars: 16_000, totalChars: 24_000 } as const;

/**
 * The repository's own instructions for coding agents (AGENTS.md and the files other agents
 * read: CLAUDE.md, .github/copilot-instructions.md...), read from the mirror at the base commit,
 * as Codex, Copilot and OpenHands do. The planner puts them in the plan artifact, so the coder
 * and the reviewer read the same ones.
 */
@Injectable()
export class RepoInstructionsReader {
  constructor(private readonly git: GitClient) {}

  async read(mirrorDir: string, sha: string, tree: ReadonlyArray<{ path: string }>): Promise<RepoInstructions[]> {
    const present = new Set(tree.map((f) => f.path));
    const out: RepoInstructions[] = [];
    let total = 0;
    for (const path of INSTRUCTION_FILES.filter((p) => present.has(p))) {
      const shown = await this.git.attempt(mirrorDir, ['show', `${sha}:${path}`]);
      if (!shown.ok || shown.stdout.includes('\0')) continue;
      const text = shown.stdout.trim();
      if (!text) continue;
      const room = Math.min(INSTRUCTION_LIMITS.fileChars, INSTRUCTION_LIMITS.totalChars - total);
      if (room <= 200) break;
      const content = text.length > room ? `${text.slice(0, room)}\n[... ${text.length - room} more characters of ${path} not shown ...]` : text;
      out.push({ path, content });
      total += content.length;
    }
    return out;
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
