import { headerPath } from './patch-paths.js';

/** One hunk of a unified diff: the file it changes and the lines it expects there (context and removed). */
export interface PatchHunk {
  path: string;
  /** 1-based, per file. */
  number: number;
  oldLines: string[];
  /** Lines it removes (the part of oldLines that is not context). */
  removes: number;
}

/** The hunks of a unified diff, per file (`--- a/x` names the file a hunk expects to find). */
export function hunksOf(patch: string, strip: 0 | 1): PatchHunk[] {
  const hunks: PatchHunk[] = [];
  const lines = patch.split(/\r?\n/);
  let path: string | undefined;
  let current: PatchHunk | undefined;
  let perFile = 0;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    // A file header is `--- old` followed by `+++ new` (a removed line "-- x" is not).
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const p = headerPath(line.slice(4));
      path = p === '/dev/null' ? undefined : strip === 1 ? p.replace(/^[ab]\//, '') : p;
      perFile = 0;
      current = undefined;
      i += 1;
      continue;
    }
    if (line.startsWith('diff ')) {
      current = undefined;
      continue;
    }
    if (line.startsWith('@@')) {
      current = path ? { path, number: ++perFile, oldLines: [], removes: 0 } : undefined;
      if (current) hunks.push(current);
      continue;
    }
    if (!current) continue;
    // A blank context line often loses its leading space on the way through a model.
    if (line.startsWith(' ') || line.startsWith('-')) current.oldLines.push(line.slice(1));
    if (line.startsWith('-')) current.removes += 1;
    else if (line === '' && i < lines.length - 1) current.oldLines.push('');
  }
  return hunks.filter((h) => h.oldLines.length > 0);
}

const shown = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...` : s);

/**
 * Where the first hunk that cannot match the file goes wrong: the line of the patch that differs
 * from the file, and the file's line there (with a note when only whitespace differs). Undefined
 * when every hunk's lines are in the file as they are (git refused it for another reason).
 */
export async function firstMismatch(hunks: readonly PatchHunk[], read: (path: string) => Promise<string | undefined>): Promise<string | undefined> {
  const files = new Map<string, string[] | undefined>();
  for (const hunk of hunks) {
    if (!files.has(hunk.path)) files.set(hunk.path, (await read(hunk.path))?.split('\n'));
    const lines = files.get(hunk.path);
    if (!lines) return `hunk ${hunk.number} of ${hunk.path}: there is no such file to change (a new file's patch has \`--- /dev/null\`)`;
    const want = hunk.oldLines;
    let best = { at: -1, matched: 0 };
    for (let i = 0; i < lines.length; i += 1) {
      let n = 0;
      while (n < want.length && i + n < lines.length && lines[i + n] === want[n]) n += 1;
      if (n === want.length) {
        best = { at: i, matched: n };
        break;
      }
      if (n > best.matched) best = { at: i, matched: n };
    }
    if (best.matched === want.length) continue;
    const where = `hunk ${hunk.number} of ${hunk.path}`;
    if (best.matched === 0) {
      const loose = lines.findIndex((l) => l.trim() === want[0]!.trim() && l.trim() !== '');
      const hint = loose >= 0 ? ` (line ${loose + 1} has it with other whitespace: ${shown(lines[loose]!)})` : '';
      return `${where}: its first line ${shown(want[0]!)} is not in the file${hint}`;
    }
    const fileLine = lines[best.at + best.matched];
    const patchLine = want[best.matched]!;
    const ws = fileLine !== undefined && fileLine.trim() === patchLine.trim() ? ' (they differ only in whitespace: tabs, spaces or trailing blanks)' : '';
    return `${where}: its first ${best.matched} line(s) match the file from line ${best.at + 1}, then the patch has ${shown(patchLine)} where the file has ${fileLine === undefined ? 'its end' : `${shown(fileLine)} (line ${best.at + best.matched + 1})`}${ws}`;
  }
  return undefined;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/;

/** Whether line i starts what comes after a hunk: another hunk, a `diff` line, or a file header (`--- x` then `+++ y`). */
function endsHunk(lines: readonly string[], i: number): boolean {
  const line = lines[i]!;
  return line.startsWith('@@') || line.startsWith('diff ') || (line.startsWith('--- ') && !!lines[i + 1]?.startsWith('+++ '));
}

/**
 * The patch with every hunk header's line counts taken from the hunk's own lines. Models
 * miscount them both ways (a relay trial: `@@ -3,7 +3,11 @@` for 9 new lines), and git's
 * `--recount` only helps within a file: it counts on through the next file's `--- a/x` header as
 * a removed line, so a multi-file patch without `diff --git` lines was refused as a whole. A
 * hunk ends where `hunksOf` ends it; blank lines at its end count only when the header's own
 * counts say so (else they are a separator and are dropped). A header whose counts are right,
 * and one without line numbers, is left as it is.
 */
export function withRecountedHunks(patch: string): string {
  const lines = patch.split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const m = HUNK_HEADER.exec(lines[i]!.replace(/\r$/, ''));
    if (!m) {
      out.push(lines[i]!);
      i += 1;
      continue;
    }
    // A header whose counts git can read the hunk by, as it stands, is left alone with its lines: what applied before applies now.
    const fits = claimedEnd(lines, i + 1, countsOf(lines[i]!));
    if (fits !== undefined) {
      out.push(...lines.slice(i, fits));
      i = fits;
      continue;
    }
    let end = i + 1;
    while (end < lines.length && !endsHunk(lines, end)) end += 1;
    const body = lines.slice(i + 1, end);
    // The split's last element after a final newline is not a line of the hunk.
    const last = end === lines.length && body[body.length - 1] === '' ? body.pop() : undefined;
    let kept = body.length;
    while (kept > 0 && body[kept - 1]!.replace(/\r$/, '') === '') kept -= 1;
    const full = countLines(body);
    const claimed = countsOf(lines[i]!);
    const used = full.old === claimed.old && full.new === claimed.new ? body : body.slice(0, kept);
    const counts = countLines(used);
    const right = counts.old === claimed.old && counts.new === claimed.new;
    out.push(right ? lines[i]! : `@@ -${m[1]},${counts.old} +${m[2]},${counts.new} @@${m[3]}`, ...used);
    if (last !== undefined) out.push(last);
    i = end;
  }
  return out.join('\n');
}

/**
 * Where the hunk starting at `start` ends when read as git reads it, by its header's counts: the
 * index after its last line, when exactly those lines are hunk lines and what follows is the end,
 * another hunk or file, or a `diff` line; undefined when the counts do not fit the patch.
 */
function claimedEnd(lines: readonly string[], start: number, claimed: { old: number; new: number }): number | undefined {
  // The split's last element after a final newline is not a line of the patch.
  const limit = lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  let old = 0;
  let added = 0;
  let j = start;
  while (old < claimed.old || added < claimed.new) {
    if (j >= limit) return undefined;
    const c = lines[j]!.replace(/\r$/, '')[0];
    if (c === '+') added += 1;
    else if (c === '-') old += 1;
    else if (c === ' ' || c === undefined) {
      old += 1;
      added += 1;
    } else if (c !== '\\') return undefined;
    j += 1;
    if (old > claimed.old || added > claimed.new) return undefined;
  }
  while (j < limit && lines[j]!.startsWith('\\')) j += 1;
  return j === limit || endsHunk(lines, j) ? j : undefined;
}

/** The counts a header claims (absent counts mean 1). */
function countsOf(header: string): { old: number; new: number } {
  const m = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(header);
  return { old: m?.[1] === undefined ? 1 : Number(m[1]), new: m?.[2] === undefined ? 1 : Number(m[2]) };
}

/** Old and new line counts of a hunk's body, as git reads them (a bare empty line is context; `\ No newline` counts for neither). */
function countLines(body: readonly string[]): { old: number; new: number } {
  let old = 0;
  let added = 0;
  for (const line of body) {
    const c = line.replace(/\r$/, '')[0];
    if (c === '+') added += 1;
    else if (c === '-') old += 1;
    else if (c === ' ' || c === undefined) {
      old += 1;
      added += 1;
    }
  }
  return { old, new: added };
}
