import type { ReviewRule } from '@agency/vault';
import { pathMatches } from '../diff/glob.matcher.js';
import { selectRules } from './rule.selector.js';

const rule = (id: string, appliesTo: string[]): ReviewRule => ({ id, title: id, severity: 'major', appliesTo, text: `${id} text` });

describe('pathMatches', () => {
  it.each([
    ['src/a/b.ts', 'src/**', true],
    ['test/a.ts', 'src/**', false],
    ['src/x.test.js', '**/*.test.js', true],
    ['deep/dir/yarn.lock', 'yarn.lock', true],
    ['server.pem', '*.pem', true],
    ['src/server.pem', '*.pem', true],
    ['.github/workflows/ci.yml', '.github/workflows/**', true],
    ['src/app.ts', 'src/*.{ts,js}', true],
    ['src/app.ts', './src/*.ts', true],
    ['src/app.ts', '', false],
  ])('%s against %s -> %s', (path, glob, expected) => {
    expect(pathMatches(path, glob)).toBe(expected);
  });
});

describe('selectRules', () => {
  const rules = [rule('tests-required', ['src/**']), rule('no-secrets', []), rule('docs', ['docs/**', '*.md'])];

  it('applies rules without applies_to to every change, and globbed rules to matching files', () => {
    const selection = selectRules(rules, ['src/farewell.js', 'test/farewell.test.js']);
    expect(selection.applied.map((r) => r.id)).toEqual(['tests-required', 'no-secrets']);
    expect(selection.skipped).toEqual([{ id: 'docs', reason: 'no changed file matches docs/**, *.md' }]);
  });

  it("matches any one of a rule's globs", () => {
    expect(selectRules(rules, ['README.md']).applied.map((r) => r.id)).toEqual(['no-secrets', 'docs']);
  });

  it('keeps only the unscoped rules when nothing changed', () => {
    expect(selectRules(rules, []).applied.map((r) => r.id)).toEqual(['no-secrets']);
  });
});
