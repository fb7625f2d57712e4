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
    if (!lines) continue;
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
