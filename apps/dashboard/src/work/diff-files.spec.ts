import { splitDiff } from './diff-files.js';

const DIFF = [
  'diff --git a/src/farewell.js b/src/farewell.js',
  'new file mode 100644',
  'index 0000000..1111111',
  '--- /dev/null',
  '+++ b/src/farewell.js',
  '@@ -0,0 +1,2 @@',
  '+export function farewell(name) {',
  '+}',
  'diff --git a/README.md b/README.md',
  'index 2222222..3333333 100644',
  '--- a/README.md',
  '+++ b/README.md',
  '@@ -1,2 +1,2 @@',
  ' # greeter',
  '-old line',
  '+new line',
  'diff --git a/old.txt b/new.txt',
  'similarity index 100%',
  'rename from old.txt',
  'rename to new.txt',
  '',
].join('\n');

describe('a round diff, file by file', () => {
  it('splits git diff output into files with their status, counts and hunks', () => {
    const files = splitDiff(DIFF);
    expect(files.map((f) => [f.path, f.status, f.added, f.removed])).toEqual([
      ['src/farewell.js', 'added', 2, 0],
      ['README.md', 'modified', 1, 1],
      ['new.txt', 'renamed', 0, 0],
    ]);
    expect(files[0]!.patch).toBe('@@ -0,0 +1,2 @@\n+export function farewell(name) {\n+}');
    expect(files[1]!.patch.split('\n')).toEqual(['@@ -1,2 +1,2 @@', ' # greeter', '-old line', '+new line']);
    expect(files[2]!.from).toBe('old.txt');
  });

  it('has no files for an empty diff', () => {
    expect(splitDiff('')).toEqual([]);
  });
});
