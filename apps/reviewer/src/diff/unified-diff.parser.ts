/** One line of a hunk with its line number on its side (new side for added, old side for removed). */
export interface DiffLine {
  line: number;
  text: string;
}

export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
}

export type DiffFileStatus = 'added' | 'deleted' | 'modified' | 'renamed';

export interface DiffFile {
  /** Path after the change (before it, for a deleted file). */
  path: string;
  /** Path before the change when it differs (renames, copies). */
  oldPath?: string;
  status: DiffFileStatus;
  binary: boolean;
  hunks: DiffHunk[];
  added: DiffLine[];
  removed: DiffLine[];
  /**
   * New-side lines the change touched: added lines, plus the line where a pure deletion happened
   * (there is no added line to point at, but a finding there is about the change).
   */
  touched: Set<number>;
}

export interface ParsedDiff {
  files: DiffFile[];
}

export class DiffParseError extends Error {
  constructor(
    message: string,
    readonly lineNumber?: number,
  ) {
    super(lineNumber === undefined ? message : `diff line ${lineNumber}: ${message}`);
    this.name = 'DiffParseError';
  }
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Git quotes paths with unusual characters C-style ("a/sp\303\244ce"); this undoes it. */
export function unquoteGitPath(raw: string): string {
  if (!raw.startsWith('"') || !raw.endsWith('"') || raw.length < 2) return raw;
  const inner = raw.slice(1, -1);
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, '\\': 92, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < inner.length; i += 1) {
    const c = inner[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = inner[i + 1] ?? '';
    const octal = /^[0-7]{3}/.exec(inner.slice(i + 1, i + 4));
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 3;
    } else if (next in simple) {
      bytes.push(simple[next]!);
      i += 1;
    } else bytes.push(92);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `a/src/x.js` -> `src/x.js`; `/dev/null` -> undefined; trailing tab+timestamp of plain diffs dropped. */
function sidePath(raw: string): string | undefined {
  const path = unquoteGitPath(raw.replace(/\t.*$/, '').trim());
  if (path === '/dev/null') return undefined;
  return path.replace(/^[ab]\//, '');
}

/** Paths from `diff --git a/x b/x`; `rename from/to` and `---/+++` lines refine them later. */
function gitHeaderPaths(rest: string): { oldPath: string; newPath: string } | undefined {
  if (rest.includes('"')) {
    const m = /^("(?:[^"\\]|\\.)*"|\S+) ("(?:[^"\\]|\\.)*"|\S+)$/.exec(rest);
    if (m) return { oldPath: sidePath(m[1]!) ?? '', newPath: sidePath(m[2]!) ?? '' };
  }
  // Unquoted paths may contain spaces: split where the halves mirror each other.
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest.startsWith('a/') && rest.slice(half + 1).startsWith('b/') && rest.slice(2, half) === rest.slice(half + 3)) {
    const p = rest.slice(2, half);
    return { oldPath: p, newPath: p };
  }
  const at = rest.indexOf(' b/');
  if (rest.startsWith('a/') && at > 0) return { oldPath: rest.slice(2, at), newPath: rest.slice(at + 3) };
  return undefined;
}

function newFile(path: string): DiffFile {
  return { path, status: 'modified', binary: false, hunks: [], added: [], removed: [], touched: new Set() };
}

/**
 * Parses a unified diff (`git diff` output, or plain `--- / +++` diffs) into files, their status
 * and their added and removed lines with line numbers. Hunk counts are trusted, so a `+++`/`---`
 * inside a hunk is content, not a header. Throws DiffParseError on a malformed hunk.
 */
export function parseUnifiedDiff(text: string): ParsedDiff {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;
  // Whether the current file came from a `diff --git` line still waiting for its ---/+++ pair.
  let awaitingPair = false;

  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!.replace(/\r$/, '');
    if (file && (oldLeft > 0 || newLeft > 0)) {
      const tag = line[0];
      const body = line.slice(1);
      if (tag === '\\') continue; // "\ No newline at end of file"
      if (tag === ' ' || line === '') {
        // An empty line inside a hunk is a context line whose leading space was stripped.
        oldNo += 1;
        newNo += 1;
        oldLeft -= 1;
        newLeft -= 1;
      } else if (tag === '+') {
        file.added.push({ line: newNo, text: body });
        file.touched.add(newNo);
        newNo += 1;
        newLeft -= 1;
      } else if (tag === '-') {
        file.removed.push({ line: oldNo, text: body });
        // A deletion touches the new-side line it sits before.
        file.touched.add(Math.max(1, newNo));
        oldNo += 1;
        oldLeft -= 1;
      } else throw new DiffParseError(`unexpected line inside a hunk: ${JSON.stringify(line.slice(0, 80))}`, i + 1);
      if (oldLeft < 0 || newLeft < 0) throw new DiffParseError('hunk has more lines than its header says', i + 1);
      continue;
    }
    if (line.startsWith('\\')) continue;
    if (line.startsWith('diff --git ')) {
      const paths = gitHeaderPaths(line.slice('diff --git '.length));
      file = newFile(paths?.newPath ?? '');
      if (paths && paths.oldPath !== paths.newPath) file.oldPath = paths.oldPath;
      files.push(file);
      awaitingPair = true;
      continue;
    }
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const oldPath = sidePath(line.slice(4));
      const newPath = sidePath(lines[i + 1]!.slice(4));
      if (!file || !awaitingPair) {
        // A plain unified diff has no `diff --git` line: each ---/+++ pair starts a file.
        file = newFile(newPath ?? oldPath ?? '');
        files.push(file);
      }
      awaitingPair = false;
      if (newPath === undefined && oldPath !== undefined) {
        file.status = 'deleted';
        file.path = oldPath;
      } else if (oldPath === undefined && newPath !== undefined) {
        file.status = 'added';
        file.path = newPath;
      } else if (oldPath !== undefined && newPath !== undefined) {
        file.path = newPath;
        if (oldPath !== newPath) {
          file.oldPath = oldPath;
          file.status = 'renamed';
        }
      }
      i += 1;
      continue;
    }
    const hunk = HUNK_HEADER.exec(line);
    if (hunk) {
      if (!file) throw new DiffParseError('hunk before any file header', i + 1);
      awaitingPair = false;
      const h: DiffHunk = {
        oldStart: Number(hunk[1]),
        oldLines: hunk[2] === undefined ? 1 : Number(hunk[2]),
        newStart: Number(hunk[3]),
        newLines: hunk[4] === undefined ? 1 : Number(hunk[4]),
      };
      file.hunks.push(h);
      oldNo = h.oldStart;
      newNo = h.newStart;
      // An empty side's start is the line before the hunk (0 for an empty file).
      if (h.oldLines === 0) oldNo += 1;
      if (h.newLines === 0) newNo += 1;
      oldLeft = h.oldLines;
      newLeft = h.newLines;
      continue;
    }
    if (!file) continue; // preamble (commit message of a format-patch, etc.)
    if (line.startsWith('new file mode')) file.status = 'added';
    else if (line.startsWith('deleted file mode')) file.status = 'deleted';
    else if (line.startsWith('rename from ') || line.startsWith('copy from ')) {
      file.oldPath = unquoteGitPath(line.replace(/^(rename|copy) from /, ''));
      file.status = 'renamed';
    } else if (line.startsWith('rename to ') || line.startsWith('copy to ')) {
      file.path = unquoteGitPath(line.replace(/^(rename|copy) to /, ''));
      file.status = 'renamed';
    } else if (line.startsWith('Binary files ') || line === 'GIT binary patch') {
      file.binary = true;
      const m = / and (.+) differ$/.exec(line);
      if (m && !file.path) file.path = sidePath(m[1]!) ?? file.path;
    }
  }
  if (oldLeft > 0 || newLeft > 0) throw new DiffParseError(`hunk ends early: ${oldLeft} old and ${newLeft} new line(s) missing`, lines.length + 1);
  const nameless = files.findIndex((f) => !f.path);
  if (nameless >= 0) throw new DiffParseError(`file section ${nameless + 1} names no path`);
  return { files };
}

/** Every path the change reads or writes: new paths, and old paths of renames and deletions. */
export function changedPaths(diff: ParsedDiff): string[] {
  const out = new Set<string>();
  for (const f of diff.files) {
    out.add(f.path);
    if (f.oldPath) out.add(f.oldPath);
  }
  return [...out];
}
