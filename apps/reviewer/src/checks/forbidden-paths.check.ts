import type { FrSnapshotDto, Severity } from '@agency/contracts';
import { firstMatch } from '../diff/glob.matcher.js';
import type { ParsedDiff } from '../diff/unified-diff.parser.js';
import type { CheckResult, Finding } from '../review/review.model.js';

export interface ForbiddenPattern {
  glob: string;
  severity: Severity;
  why: string;
}

/** CI definitions run with the repository's secrets: the agency never edits them. */
export const WORKFLOW_PATTERNS: ForbiddenPattern[] = [
  { glob: '.github/workflows/**', severity: 'critical', why: 'CI workflows run with the repository secrets' },
];

/** Lock files change only when the FR is about dependencies. */
export const LOCK_FILE_PATTERNS: ForbiddenPattern[] = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml'].map((glob) => ({
  glob,
  severity: 'major' as const,
  why: 'lock files change only when the FR is about dependencies',
}));

const DEPENDENCY_WORDS = /\b(?:dependenc(?:y|ies)|lock ?files?|package-lock\.json|yarn\.lock|pnpm-lock\.yaml)\b/i;

/** Fenced blocks and inline code; a lock file's name in backticks stays (it is a request about it). */
const CODE = /^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$|`([^`\n]*)`/gm;
const LOCK_FILE_NAME = /^(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml)$/;

/**
 * Whether the FR (title, body, acceptance criteria) talks about dependencies, its code examples
 * left out: a trial FR's example `description: "Install dependencies"` lifted the lock-file guard.
 */
export function mentionsDependencies(fr: Pick<FrSnapshotDto, 'title' | 'body' | 'acceptanceCriteria'>): boolean {
  const prose = [fr.title, fr.body, ...fr.acceptanceCriteria]
    .join('\n')
    .replace(CODE, (_whole: string, _fence: string | undefined, inline: string | undefined) =>
      inline !== undefined && LOCK_FILE_NAME.test(inline.trim()) ? inline : ' ',
    );
  return DEPENDENCY_WORDS.test(prose);
}

/** The patterns that apply to this FR: workflows, lock files (unless allowed), then the vault's own. */
export function forbiddenPatterns(
  fr: Pick<FrSnapshotDto, 'title' | 'body' | 'acceptanceCriteria'>,
  configured: readonly string[],
): { patterns: ForbiddenPattern[]; lockFilesAllowed: boolean } {
  const lockFilesAllowed = mentionsDependencies(fr);
  const own = configured.map((glob) => ({ glob, severity: 'major' as const, why: 'listed in review.forbidden_paths of agency.yaml' }));
  return { patterns: [...WORKFLOW_PATTERNS, ...(lockFilesAllowed ? [] : LOCK_FILE_PATTERNS), ...own], lockFilesAllowed };
}

/** No change (edit, creation, deletion or rename, either side) may touch a forbidden path. */
export function checkForbiddenPaths(diff: ParsedDiff | undefined, patterns: readonly ForbiddenPattern[], lockFilesAllowed: boolean): CheckResult {
  const findings: Finding[] = [];
  const globs = patterns.map((p) => p.glob);
  for (const file of diff?.files ?? []) {
    for (const path of new Set([file.path, ...(file.oldPath ? [file.oldPath] : [])])) {
      const glob = firstMatch(path, globs);
      if (glob === undefined) continue;
      const pattern = patterns.find((p) => p.glob === glob)!;
      findings.push({
        file: path,
        severity: pattern.severity,
        message: `${path} may not be changed by the agency (${file.status}; forbidden path "${glob}": ${pattern.why}).`,
        suggestion: 'Revert the change to this file.',
        blocking: true,
        confidence: 1,
        source: 'check',
        check: 'forbidden-paths',
      });
    }
  }
  const scope = `${patterns.length} pattern(s)${lockFilesAllowed ? '; lock files allowed: the FR mentions dependencies' : ''}`;
  return {
    id: 'forbidden-paths',
    passed: findings.length === 0,
    detail: findings.length === 0 ? `no forbidden path changed (${scope})` : `${findings.length} forbidden path(s) changed (${scope})`,
    findings,
  };
}
