import { patchPaths } from './patch-paths.js';

describe('patchPaths', () => {
  it('reads git-style headers with a/ and b/ prefixes (strip 1)', () => {
    const patch =
      'diff --git a/src/a.js b/src/a.js\nindex 1..2 100644\n--- a/src/a.js\n+++ b/src/a.js\n@@ -1 +1 @@\n-x\n+y\n--- /dev/null\n+++ b/src/new.js\n@@ -0,0 +1 @@\n+z\n';
    expect(patchPaths(patch)).toEqual({ strip: 1, paths: ['src/a.js', 'src/new.js'] });
  });

  it('reads plain headers without prefixes (strip 0), timestamps and quotes dropped', () => {
    const patch = '--- src/a.js\t2024-01-01 10:00:00\n+++ "src/with space.js"\t2024-01-01 10:00:01\n@@ -1 +1 @@\n-x\n+y\n';
    expect(patchPaths(patch)).toEqual({ strip: 0, paths: ['src/a.js', 'src/with space.js'] });
  });

  it('names both sides of a rename', () => {
    const patch = 'diff --git a/old.js b/new.js\nsimilarity index 100%\nrename from old.js\nrename to new.js\n';
    expect(patchPaths(patch).paths).toEqual(['old.js', 'new.js']);
  });

  it('keeps dangerous paths for the guard to refuse', () => {
    expect(patchPaths('--- a/../x\n+++ b/../x\n@@ -0,0 +1 @@\n+x\n').paths).toEqual(['../x']);
    expect(patchPaths('--- /etc/passwd\n+++ /etc/passwd\n').paths).toEqual(['/etc/passwd']);
  });

  it('says so when there is no patch at all', () => {
    expect(() => patchPaths('please change line 3')).toThrow('the patch has no file headers');
  });
});
