import { firstMismatch, hunksOf, withRecountedHunks } from './patch-hunks.js';

const file = ['function a() {', '\treturn 1;', '}', '', 'function b() {', '\treturn 2;', '}'].join('\n');
const read = async (path: string) => (path === 'src/x.js' ? file : undefined);

describe('patch hunks', () => {
  it('reads each hunk\'s expected lines per file, a removed "-- x" line and a blank context line without its space included', () => {
    const patch = [
      '--- a/src/x.js',
      '+++ b/src/x.js',
      '@@ -1,3 +1,3 @@',
      ' function a() {',
      '-\treturn 1;',
      '+\treturn 10;',
      '',
      '@@ -5,2 +5,2 @@',
      '--- a comment',
      '+-- b comment',
      'diff --git a/y b/y',
      '--- a/y',
      '+++ b/y',
      '@@ -1 +1 @@',
      '-old',
      '+new',
      '',
    ].join('\n');
    expect(hunksOf(patch, 1)).toEqual([
      { path: 'src/x.js', number: 1, oldLines: ['function a() {', '\treturn 1;', ''], removes: 1 },
      { path: 'src/x.js', number: 2, oldLines: ['-- a comment'], removes: 1 },
      { path: 'y', number: 1, oldLines: ['old'], removes: 1 },
    ]);
  });

  it("names the first line that differs, and the file's line there", async () => {
    const hunks = hunksOf(['--- a/src/x.js', '+++ b/src/x.js', '@@ -5,3 +5,3 @@', ' function b() {', '-\treturn 3;', '+\treturn 4;', ' }'].join('\n'), 1);
    expect(await firstMismatch(hunks, read)).toBe(
      'hunk 1 of src/x.js: its first 1 line(s) match the file from line 5, then the patch has "\\treturn 3;" where the file has "\\treturn 2;" (line 6)',
    );
  });

  it('says when only whitespace differs', async () => {
    const spaces = hunksOf(['--- a/src/x.js', '+++ b/src/x.js', '@@ -1,2 +1,2 @@', ' function a() {', '-  return 1;', '+  return 5;'].join('\n'), 1);
    expect(await firstMismatch(spaces, read)).toContain('where the file has "\\treturn 1;" (line 2) (they differ only in whitespace');
    const first = hunksOf(['--- a/src/x.js', '+++ b/src/x.js', '@@ -2 +2 @@', '-  return 1;', '+  return 5;'].join('\n'), 1);
    expect(await firstMismatch(first, read)).toBe(
      'hunk 1 of src/x.js: its first line "  return 1;" is not in the file (line 2 has it with other whitespace: "\\treturn 1;")',
    );
  });

  it('finds nothing to say when every hunk is in the file as it is, and names a file that cannot be read', async () => {
    const fine = hunksOf(['--- a/src/x.js', '+++ b/src/x.js', '@@ -1,2 +1,2 @@', ' function a() {', '-\treturn 1;', '+\treturn 5;'].join('\n'), 1);
    expect(await firstMismatch(fine, read)).toBeUndefined();
    expect(await firstMismatch(hunksOf('--- a/none.js\n+++ b/none.js\n@@ -1 +1 @@\n-a\n+b\n', 1), read)).toBe(
      "hunk 1 of none.js: there is no such file to change (a new file's patch has `--- /dev/null`)",
    );
  });
});

describe('withRecountedHunks', () => {
  it("rewrites an over-counted header from the hunk's lines, which end at the next file's header (the rou3 relay trial)", () => {
    const patch = [
      '--- a/src/types.ts',
      '+++ b/src/types.ts',
      '@@ -3,7 +3,11 @@ export interface X {',
      ' a',
      '-b',
      '+b1',
      '+b2',
      ' c',
      '--- a/src/add.ts',
      '+++ b/src/add.ts',
      '@@ -10,2 +10,2 @@',
      '-x',
      '+y',
      '',
    ].join('\n');
    // Only the two headers change: the counts the hunks' own lines give.
    expect(withRecountedHunks(patch)).toBe(patch.replace('@@ -3,7 +3,11 @@', '@@ -3,3 +3,4 @@').replace('@@ -10,2 +10,2 @@', '@@ -10,1 +10,1 @@'));
  });

  it('fixes under-counted headers, reads counts left out as 1, and leaves headers without numbers and other lines alone', () => {
    expect(withRecountedHunks('@@ -1 +1 @@\n-a\n+b\n+c\n x')).toBe('@@ -1,2 +1,3 @@\n-a\n+b\n+c\n x');
    expect(withRecountedHunks('@@ -1 +1 @@ f()\n-a\n+b\n')).toBe('@@ -1 +1 @@ f()\n-a\n+b\n');
    expect(withRecountedHunks('diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ change @@\n-a\n+b\n')).toBe(
      'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ change @@\n-a\n+b\n',
    );
    // A removed line that reads "-- x" is not a file header unless "+++ " follows it.
    expect(withRecountedHunks('@@ -1,9 +1,9 @@\n--- comment\n+++ other\n')).toBe('@@ -1,0 +1,0 @@\n--- comment\n+++ other\n');
    // ...and a hunk whose counts git can read it by stays as written, even with such lines in it (a SQL comment changed).
    const sql = '--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,2 @@\n--- old comment\n+++ new comment\n select 1;\n';
    expect(withRecountedHunks(sql)).toBe(sql);
  });

  it('counts a bare empty line as context, drops blank separator lines the header does not count, keeps ones it does, and ignores "\\ No newline"', () => {
    // Two hunks of one file with a blank line between them: a separator (git would end the file's hunks there).
    expect(withRecountedHunks('@@ -1,2 +1,2 @@\n a\n-b\n+c\n\n@@ -9,1 +9,1 @@\n-y\n+z\n')).toBe('@@ -1,2 +1,2 @@\n a\n-b\n+c\n@@ -9,1 +9,1 @@\n-y\n+z\n');
    // The header counts the trailing blank line as context: it is the file's blank line, kept.
    expect(withRecountedHunks('@@ -1,3 +1,3 @@\n a\n-b\n+c\n\n')).toBe('@@ -1,3 +1,3 @@\n a\n-b\n+c\n\n');
    // A blank line inside the hunk is context (its leading space lost on the way).
    expect(withRecountedHunks('@@ -1,1 +1,1 @@\n a\n\n-b\n+c\n\\ No newline at end of file\n')).toBe(
      '@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n\\ No newline at end of file\n',
    );
  });
});
