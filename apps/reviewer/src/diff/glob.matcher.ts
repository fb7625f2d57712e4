import { matchesGlob } from 'node:path/posix';

/**
 * Glob matching for repository paths (`*`, `**`, `?`, `{a,b}`, `[abc]`), via Node's own matcher.
 * As in .gitignore, a pattern without a `/` matches the file name at any depth (`*.pem`,
 * `yarn.lock`); a pattern with one is anchored at the repository root (`.github/workflows/**`).
 */
export function pathMatches(path: string, pattern: string): boolean {
  const p = pattern.replace(/^\.\//, '').replace(/^\//, '');
  if (!p) return false;
  const target = path.replace(/^\.\//, '');
  if (!p.includes('/')) return matchesGlob(target, `**/${p}`) || matchesGlob(target, p);
  return matchesGlob(target, p);
}

/** The first pattern `path` matches, if any. */
export function firstMatch(path: string, patterns: readonly string[]): string | undefined {
  return patterns.find((pattern) => pathMatches(path, pattern));
}
