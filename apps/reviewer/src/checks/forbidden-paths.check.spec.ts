import { parseUnifiedDiff } from '../diff/unified-diff.parser.js';
import { checkForbiddenPaths, forbiddenPatterns, mentionsDependencies } from './forbidden-paths.check.js';

const fr = (body: string, criteria: string[] = []) => ({ title: 'Add farewell()', body, acceptanceCriteria: criteria });

function diffTouching(...paths: string[]): string {
  return paths.map((p) => `diff --git a/${p} b/${p}\n--- a/${p}\n+++ b/${p}\n@@ -1 +1 @@\n-a\n+b`).join('\n');
}

describe('mentionsDependencies', () => {
  it.each([
    ['Add the dependency left-pad.', true],
    ['Upgrade dependencies.', true],
    ['Refresh the lockfile.', true],
    ['Say goodbye.', false],
  ])('%s -> %s', (body, expected) => {
    expect(mentionsDependencies(fr(body))).toBe(expected);
  });

  it.each([
    ['an example in a fenced block', 'Add aliases.\n\n```ts\nconst install = { description: "Install dependencies" };\n```\n', false],
    ['an example in inline code', 'Show `description: "Install dependencies"` next to the name.', false],
    ['a lock file named in backticks', 'Update `pnpm-lock.yaml` after the upgrade.', true],
    ['prose after a code block', '```js\nx()\n```\n\nThen bump the dependencies.', true],
  ])('leaves code examples out: %s', (_name, body, expected) => {
    expect(mentionsDependencies(fr(body))).toBe(expected);
  });

  it('reads the acceptance criteria too', () => {
    expect(mentionsDependencies(fr('Say goodbye.', ['package-lock.json is updated']))).toBe(true);
  });
});

describe('checkForbiddenPaths', () => {
  it('blocks CI workflows, always', () => {
    const { patterns, lockFilesAllowed } = forbiddenPatterns(fr('Bump dependencies'), []);
    const result = checkForbiddenPaths(parseUnifiedDiff(diffTouching('.github/workflows/ci.yml', 'src/a.js')), patterns, lockFilesAllowed);
    expect(result.passed).toBe(false);
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({ file: '.github/workflows/ci.yml', severity: 'critical', blocking: true, check: 'forbidden-paths' });
    expect(result.findings[0]!.message).toContain('forbidden path ".github/workflows/**"');
  });

  it('blocks lock files at any depth unless the FR is about dependencies', () => {
    const diff = parseUnifiedDiff(diffTouching('package-lock.json', 'web/yarn.lock', 'pkg/pnpm-lock.yaml'));
    const strict = forbiddenPatterns(fr('Say goodbye'), []);
    expect(checkForbiddenPaths(diff, strict.patterns, strict.lockFilesAllowed).findings.map((f) => f.file)).toEqual([
      'package-lock.json',
      'web/yarn.lock',
      'pkg/pnpm-lock.yaml',
    ]);
    const allowed = forbiddenPatterns(fr('Add the dependency dayjs'), []);
    const result = checkForbiddenPaths(diff, allowed.patterns, allowed.lockFilesAllowed);
    expect(result.passed).toBe(true);
    expect(result.detail).toContain('lock files allowed');
  });

  it('applies configured globs, to both sides of a rename', () => {
    const diff = parseUnifiedDiff('diff --git a/infra/main.tf b/src/main.tf\nsimilarity index 100%\nrename from infra/main.tf\nrename to src/main.tf\n');
    const { patterns, lockFilesAllowed } = forbiddenPatterns(fr('x'), ['infra/**', '*.pem']);
    const result = checkForbiddenPaths(diff, patterns, lockFilesAllowed);
    expect(result.findings.map((f) => f.file)).toEqual(['infra/main.tf']);
    expect(result.findings[0]!.message).toContain('review.forbidden_paths');
    const pem = checkForbiddenPaths(parseUnifiedDiff(diffTouching('certs/server.pem')), patterns, lockFilesAllowed);
    expect(pem.findings[0]!.file).toBe('certs/server.pem');
  });

  it('passes a clean change', () => {
    const { patterns } = forbiddenPatterns(fr('x'), []);
    expect(checkForbiddenPaths(parseUnifiedDiff(diffTouching('src/farewell.js')), patterns, false)).toMatchObject({ passed: true, findings: [] });
  });
});
