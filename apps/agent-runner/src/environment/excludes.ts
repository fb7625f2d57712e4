import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';

const BEGIN = '# agency: what the repository setup installs (never committed, kept by checkout and clean)';
const END = '# agency: end';

/** A worktree path (`dir/` for a directory) as an anchored gitignore pattern that matches it literally. */
export function excludePattern(path: string): string | undefined {
  if (!path || /[\n\r]/.test(path)) return undefined;
  const dir = path.endsWith('/');
  const bare = dir ? path.slice(0, -1) : path;
  const escaped = bare.replace(/[\\*?[\]!#]/g, (c) => `\\${c}`).replace(/ $/, '\\ ');
  return `/${escaped}${dir ? '/' : ''}`;
}

/**
 * Adds the patterns to the mirror's `info/exclude` (shared by the repository's worktrees, as every
 * job of a repository runs the same setup), in a block of the agency's own; patterns already there
 * stay. The mirror is the runner's: no sandbox can write it. Call under the mirror's lock.
 */
export function addExcludes(mirrorDir: string, paths: readonly string[]): string[] {
  const file = join(mirrorDir, 'info', 'exclude');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = text.indexOf(BEGIN);
  const end = start >= 0 ? text.indexOf(END, start) : -1;
  const ours =
    start >= 0 && end > start
      ? text
          .slice(start + BEGIN.length, end)
          .split('\n')
          .filter(Boolean)
      : [];
  const before = start >= 0 && end > start ? text.slice(0, start) : text;
  const after = start >= 0 && end > start ? text.slice(end + END.length).replace(/^\n/, '') : '';
  const patterns = [...new Set([...ours, ...paths.flatMap((p) => excludePattern(p) ?? [])])];
  const next = `${before}${before && !before.endsWith('\n') ? '\n' : ''}${BEGIN}\n${patterns.join('\n')}${patterns.length ? '\n' : ''}${END}\n${after}`;
  if (next !== text) {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}`;
    writeFileSync(tmp, next);
    renameSync(tmp, file);
  }
  return patterns;
}
