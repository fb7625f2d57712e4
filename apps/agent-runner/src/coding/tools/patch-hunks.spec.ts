import { firstMismatch, hunksOf } from './patch-hunks.js';

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

  it('finds nothing to say when every hunk is in the file as it is, or the file cannot be read', async () => {
    const fine = hunksOf(['--- a/src/x.js', '+++ b/src/x.js', '@@ -1,2 +1,2 @@', ' function a() {', '-\treturn 1;', '+\treturn 5;'].join('\n'), 1);
    expect(await firstMismatch(fine, read)).toBeUndefined();
    expect(await firstMismatch(hunksOf('--- a/none.js\n+++ b/none.js\n@@ -1 +1 @@\n-a\n+b\n', 1), read)).toBeUndefined();
  });
});
