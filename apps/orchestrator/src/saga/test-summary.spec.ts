import { lintSummary, testSummary, testVerdict, type TestOutcome } from './test-summary.js';

const outcome = (patch: Partial<TestOutcome> = {}): TestOutcome => ({
  round: 2,
  passed: true,
  counts: { total: 79, passed: 79, failed: 0, skipped: 0 },
  format: 'vitest',
  exitCode: 0,
  ...patch,
});
const lint = { command: 'npx oxlint . && npx oxfmt --check', exitCode: 0, timedOut: false, durationMs: 900, outputTail: '' };

describe('testSummary', () => {
  it('says the counts and the round, and nothing about a lint when none is configured', () => {
    expect(testSummary(outcome())).toBe('passed: 79 passed, 0 failed, 0 skipped of 79 (round 2)');
    expect(testSummary(undefined, 'npm run lint')).toBe('not run');
  });

  it('adds a line naming the lint command and whether it passed (relay trial on unjs/citty: it was only in the reviewer prompt)', () => {
    expect(testSummary(outcome({ lint }), lint.command)).toBe(
      'passed: 79 passed, 0 failed, 0 skipped of 79 (round 2)\nlint: `npx oxlint . && npx oxfmt --check` passed',
    );
    expect(testSummary(outcome({ format: 'unparsed', lint: { ...lint, exitCode: 1 } }))).toBe(
      'passed: exit code 0, output not in a known format (no test counts) (round 2)\nlint: `npx oxlint . && npx oxfmt --check` failed (exit code 1)',
    );
  });

  it('says the failing tests already failed at the base, in the PR and the FR log (commander.js trial: nothing said so)', () => {
    const red = outcome({ passed: false, counts: { total: 8, passed: 6, failed: 2, skipped: 0 }, failedAtBase: { count: 2, names: ['a', 'b'] } });
    expect(testSummary(red)).toBe(
      'failed: 6 passed, 2 failed, 0 skipped of 8 (round 2)\nthe 2 failing test(s) already failed at the base, before any change: a; b',
    );
    expect(testVerdict(red)).toBe('failed (6/8 passed; the 2 failing test(s) already failed at the base, before any change)');
    const many = outcome({ passed: false, failedAtBase: { count: 7, names: ['1', '2', '3', '4', '5', '6', '7'] } });
    expect(testSummary(many)).toContain('before any change: 1; 2; 3; 4; 5; and 2 more');
  });

  it('says a configured lint did not run when the test step brought no result of it', () => {
    expect(testSummary(outcome(), 'npm run lint')).toBe('passed: 79 passed, 0 failed, 0 skipped of 79 (round 2)\nlint: `npm run lint` not run');
  });
});

describe('lintSummary', () => {
  it('passed, failed with the exit code, timed out, not run, or nothing', () => {
    expect(lintSummary(lint, undefined)).toBe('lint: `npx oxlint . && npx oxfmt --check` passed');
    expect(lintSummary({ ...lint, exitCode: 2 }, lint.command)).toBe('lint: `npx oxlint . && npx oxfmt --check` failed (exit code 2)');
    expect(lintSummary({ ...lint, exitCode: 124, timedOut: true }, undefined)).toBe('lint: `npx oxlint . && npx oxfmt --check` timed out');
    expect(lintSummary(undefined, ' npm run lint ')).toBe('lint: `npm run lint` not run');
    expect(lintSummary(undefined, undefined)).toBeUndefined();
    expect(lintSummary(undefined, '  ')).toBeUndefined();
  });
});
