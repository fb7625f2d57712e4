import type { DiffFileView } from '@agency/contracts';

/** One file of a round's diff: its part of the unified diff from the first hunk on (binary files: git's one line). */
export type DiffFile = DiffFileView;

const HEADER = /^diff --git a\/(.+) b\/(.+)$/;

/** Splits `git diff` output into its files, counting added and removed lines. */
export function splitDiff(diff: string): DiffFile[] {
  const files: DiffFile[] = [];
  let current: { file: DiffFile; lines: string[]; inHunks: boolean } | undefined;
  const close = () => {
    if (current) files.push({ ...current.file, patch: current.lines.join('\n') });
  };
  for (const line of diff.split('\n')) {
    const head = HEADER.exec(line);
    if (head) {
      close();
      current = { file: { path: head[2]!, status: 'modified', added: 0, removed: 0, patch: '' }, lines: [], inHunks: false };
      if (head[1] !== head[2]) Object.assign(current.file, { from: head[1], status: 'renamed' });
      continue;
    }
    if (!current) continue;
    if (!current.inHunks) {
      if (line.startsWith('new file mode')) current.file.status = 'added';
      else if (line.startsWith('deleted file mode')) current.file.status = 'deleted';
      else if (line.startsWith('@@') || line.startsWith('Binary files')) current.inHunks = true;
      if (!current.inHunks) continue;
    }
    if (line.startsWith('+')) current.file.added += 1;
    else if (line.startsWith('-')) current.file.removed += 1;
    current.lines.push(line);
  }
  close();
  return files.map((f) => ({ ...f, patch: f.patch.replace(/\n$/, '') }));
}
