import { changedPaths, DiffParseError, parseUnifiedDiff, unquoteGitPath } from './unified-diff.parser.js';

// Produced by `git diff --cached -M` on a small repository (see the reviewer's tests).
const GIT_DIFF = `diff --git a/bin.dat b/bin.dat
new file mode 100644
index 0000000..bdc955b
Binary files /dev/null and b/bin.dat differ
diff --git a/del.txt b/del.txt
deleted file mode 100644
index 286c5f5..0000000
--- a/del.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
diff --git a/keep.txt b/keep.txt
index 71ac1b5..d7044a0 100644
--- a/keep.txt
+++ b/keep.txt
@@ -1,7 +1,6 @@
 a
 b
 c
-d
 e
 f
 g
diff --git a/old.txt b/new name.txt
similarity index 100%
rename from old.txt
rename to new name.txt
diff --git a/noeol.txt b/noeol.txt
new file mode 100644
index 0000000..c1b0730
--- /dev/null
+++ b/noeol.txt
@@ -0,0 +1 @@
+x
\\ No newline at end of file
diff --git a/src/greet.js b/src/greet.js
index a106507..c36628f 100644
--- a/src/greet.js
+++ b/src/greet.js
@@ -1,3 +1,4 @@
 export function greet(name) {
-  return \`Hello, \${name}!\`;
+  const n = name.trim();
+  return \`Hello, \${n}!\`;
 }
`;

describe('parseUnifiedDiff', () => {
  const diff = parseUnifiedDiff(GIT_DIFF);
  const file = (path: string) => diff.files.find((f) => f.path === path)!;

  it('finds every file with its status', () => {
    expect(diff.files.map((f) => [f.path, f.status])).toEqual([
      ['bin.dat', 'added'],
      ['del.txt', 'deleted'],
      ['keep.txt', 'modified'],
      ['new name.txt', 'renamed'],
      ['noeol.txt', 'added'],
      ['src/greet.js', 'modified'],
    ]);
    expect(file('new name.txt').oldPath).toBe('old.txt');
    expect(file('bin.dat').binary).toBe(true);
    expect(changedPaths(diff)).toContain('old.txt');
  });

  it('numbers added lines on the new side and removed lines on the old side', () => {
    const greet = file('src/greet.js');
    expect(greet.added).toEqual([
      { line: 2, text: '  const n = name.trim();' },
      { line: 3, text: '  return `Hello, ${n}!`;' },
    ]);
    expect(greet.removed).toEqual([{ line: 2, text: '  return `Hello, ${name}!`;' }]);
    expect([...greet.touched].sort()).toEqual([2, 3]);
    expect(greet.hunks).toEqual([{ oldStart: 1, oldLines: 3, newStart: 1, newLines: 4 }]);
  });

  it('marks where a pure deletion happened as touched', () => {
    const keep = file('keep.txt');
    expect(keep.removed).toEqual([{ line: 4, text: 'd' }]);
    expect(keep.added).toEqual([]);
    expect([...keep.touched]).toEqual([4]);
    expect(file('del.txt').removed).toEqual([{ line: 1, text: 'gone' }]);
  });

  it('ignores "no newline" markers and handles new files starting at line 1', () => {
    expect(file('noeol.txt').added).toEqual([{ line: 1, text: 'x' }]);
  });

  it('reads several hunks per file, and +++/--- lines inside a hunk as content', () => {
    const text = [
      '--- a/src/x.md',
      '+++ b/src/x.md',
      '@@ -1,2 +1,2 @@',
      '--- old heading',
      '+++ new heading',
      ' same',
      '@@ -10,1 +10,2 @@',
      ' ten',
      '+eleven',
      '--- a/other.txt',
      '+++ b/other.txt',
      '@@ -1 +1 @@',
      '-a',
      '+b',
    ].join('\n');
    const parsed = parseUnifiedDiff(text);
    expect(parsed.files.map((f) => f.path)).toEqual(['src/x.md', 'other.txt']);
    expect(parsed.files[0]!.removed).toEqual([{ line: 1, text: '-- old heading' }]);
    expect(parsed.files[0]!.added).toEqual([
      { line: 1, text: '++ new heading' },
      { line: 11, text: 'eleven' },
    ]);
    expect(parsed.files[1]!.added).toEqual([{ line: 1, text: 'b' }]);
  });

  it('unquotes C-quoted paths with escapes', () => {
    expect(unquoteGitPath('"a/sp\\303\\244ce\\tx.txt"')).toBe('a/sp\u00e4ce\tx.txt');
    const parsed = parseUnifiedDiff(
      'diff --git "a/\\303\\244.txt" "b/\\303\\244.txt"\nnew file mode 100644\n--- /dev/null\n+++ "b/\\303\\244.txt"\n@@ -0,0 +1 @@\n+hi\n',
    );
    expect(parsed.files[0]).toMatchObject({ path: '\u00e4.txt', status: 'added' });
  });

  it('returns no files for an empty diff', () => {
    expect(parseUnifiedDiff('').files).toEqual([]);
    expect(parseUnifiedDiff('\n').files).toEqual([]);
  });

  it('names the line of a malformed hunk', () => {
    const cut = '--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n';
    expect(() => parseUnifiedDiff(cut)).toThrow(DiffParseError);
    expect(() => parseUnifiedDiff(cut)).toThrow(/hunk ends early: 2 old and 2 new line\(s\) missing/);
    expect(() => parseUnifiedDiff('--- a/x\n+++ b/x\n@@ -1 +1 @@\n?what\n')).toThrow(/diff line 4: unexpected line inside a hunk/);
  });
});
