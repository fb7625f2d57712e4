import type { FrSnapshotDto } from '@agency/contracts';
import { bodyForPrompt, listItem } from '@agency/vault';

export interface RepoFile {
  path: string;
  size: number;
}

export const DEFAULT_MAP_LIMITS = { maxFiles: 400, maxChars: 24_000 } as const;

/** Text cut to `max` characters with a note saying what was cut, so the model knows it sees part of it. */
export function bounded(text: string, max: number, what: string): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n[... ${what} cut: ${text.length - max} more characters not shown ...]`;
}

/** A fenced block whose fence cannot be closed by the content itself. */
export function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${text}${text.endsWith('\n') ? '' : '\n'}${ticks}`;
}

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The FR as the agents see it: title, priority, body, then phases and acceptance criteria as lists. */
export function frSection(fr: FrSnapshotDto, maxBodyChars = 40_000): string {
  const lines = [
    `# Feature request ${fr.id}: ${fr.title}`,
    '',
    `Priority: ${fr.priority}. Repository: ${fr.repo}, base branch ${fr.base}.`,
    '',
    '## Description',
    '',
    bounded(bodyForPrompt(fr) || '(no description)', maxBodyChars, 'FR body'),
  ];
  if (fr.phases.length > 0) lines.push('', '## Phases', '', ...fr.phases.map((p, i) => listItem(`${i + 1}. `, p)));
  if (fr.acceptanceCriteria.length > 0) lines.push('', '## Acceptance criteria', '', ...fr.acceptanceCriteria.map((c) => listItem('- ', c)));
  return lines.join('\n');
}

/**
 * A compact map of the repository: one line per file with its size, sorted, capped in files
 * and characters (a note says how many were left out).
 */
export function repoMap(files: readonly RepoFile[], limits: { maxFiles: number; maxChars: number } = DEFAULT_MAP_LIMITS): string {
  if (files.length === 0) return '(the repository has no files yet)';
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: string[] = [];
  let chars = 0;
  for (const f of sorted) {
    const line = `${f.path} (${humanSize(f.size)})`;
    if (out.length >= limits.maxFiles || chars + line.length + 1 > limits.maxChars) break;
    out.push(line);
    chars += line.length + 1;
  }
  const left = sorted.length - out.length;
  if (left > 0) out.push(`[... ${left} more file(s) not listed ...]`);
  return out.join('\n');
}

/** Files in which repositories give agents their instructions (Codex, Copilot, Claude, OpenHands, Gemini, Cursor). */
export const INSTRUCTION_FILES = [
  'AGENTS.md',
  'AGENT.md',
  'CLAUDE.md',
  'GEMINI.md',
  '.github/copilot-instructions.md',
  '.openhands/microagents/repo.md',
  '.cursorrules',
] as const;

/** The repository's own instructions, as the agents read them (the repository's maintainers wrote them, not the FR's author). */
export function instructionsSection(files: ReadonlyArray<{ path: string; content: string }>): string {
  if (files.length === 0) return '';
  const parts = [
    "# The repository's instructions for agents",
    '',
    'Its maintainers wrote these for coding agents; follow them unless the feature request says otherwise. What they ask of every change (documentation, a changelog entry, files to keep updated) is part of this change: plan it and make it.',
    '',
  ];
  for (const f of files) parts.push(`## ${f.path}`, '', fence(f.content.trim()), '');
  return parts.join('\n').trimEnd();
}
