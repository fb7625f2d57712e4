import { parseUnifiedDiff } from '../diff/unified-diff.parser.js';
import { checkDiff, checkTests } from './basic.checks.js';

const report = { key: 'FR-1/saga-1/test-r1.json', size: 1, sha256: 'a'.repeat(64), contentType: 'application/json' };

describe('checkTests', () => {
  it('passes passing tests', () => {
    const result = checkTests({ passed: true, counts: { total: 3, passed: 3, failed: 0, skipped: 0 }, format: 'node' as const, report });
    expect(result).toMatchObject({ id: 'tests', passed: true, findings: [] });
  });

  it('blocks failed tests and points at the report', () => {
    const result = checkTests({ passed: false, counts: { total: 3, passed: 2, failed: 1, skipped: 0 }, format: 'node' as const, report });
    expect(result.passed).toBe(false);
    expect(result.findings[0]).toMatchObject({ severity: 'critical', blocking: true, file: '' });
    expect(result.findings[0]!.message).toContain('2/3 passed, 1 failed');
    expect(result.findings[0]!.message).toContain(report.key);
  });

  it('notes, without blocking, failures that all failed at the base before any change; blocks as before when any is new', () => {
    const counts = { total: 5, passed: 3, failed: 2, skipped: 0 };
    const failedAtBase = { count: 2, names: ['colour: FORCE_COLOR', 'colour: CLICOLOR_FORCE'] };
    const noted = checkTests({ passed: false, counts, format: 'jest' as const, report, failedAtBase });
    expect(noted).toMatchObject({ passed: true, findings: [{ severity: 'minor', blocking: false }] });
    expect(noted.findings[0]!.message).toContain('only tests that already failed at the base, before any change: colour: FORCE_COLOR; colour: CLICOLOR_FORCE');
    // A third failure the base did not have: the count no longer matches, and the run blocks.
    const worse = checkTests({ passed: false, counts: { ...counts, failed: 3, passed: 2 }, format: 'jest' as const, report, failedAtBase });
    expect(worse.findings[0]).toMatchObject({ severity: 'critical', blocking: true });
  });

  it('does not trust a passed flag that contradicts the counts', () => {
    expect(checkTests({ passed: true, counts: { total: 3, passed: 2, failed: 1, skipped: 0 }, format: 'node' as const, report }).passed).toBe(false);
  });

  it('judges an output no parser understood by its exit code alone, without a "no test" finding', () => {
    const zero = { total: 0, passed: 0, failed: 0, skipped: 0 };
    const passed = checkTests({ passed: true, counts: zero, format: 'unparsed', report });
    expect(passed).toMatchObject({ passed: true, findings: [] });
    expect(passed.detail).toContain('counts are unknown');
    const failed = checkTests({ passed: false, counts: zero, format: 'unparsed', report });
    expect(failed.passed).toBe(false);
    expect(failed.findings[0]!.message).not.toContain('0/0');
    expect(failed.findings[0]!.message).toContain('The test command failed');
  });

  it('notes, without blocking, a run with no test', () => {
    const result = checkTests({ passed: true, counts: { total: 0, passed: 0, failed: 0, skipped: 0 }, format: 'node' as const, report });
    expect(result.passed).toBe(true);
    expect(result.findings[0]).toMatchObject({ severity: 'minor', blocking: false });
  });
});

describe('checkDiff', () => {
  const small = parseUnifiedDiff('--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+b\n');

  it('passes a non-empty diff within the limit', () => {
    const result = checkDiff({ bytes: 40, parsed: small }, 1000);
    expect(result).toMatchObject({ passed: true, findings: [] });
    expect(result.detail).toBe('1 file(s), +1 -0, 40 bytes');
  });

  it('blocks an empty diff', () => {
    const result = checkDiff({ bytes: 0, parsed: parseUnifiedDiff('') }, 1000);
    expect(result.passed).toBe(false);
    expect(result.findings[0]).toMatchObject({ blocking: true, message: 'The change is empty: the diff touches no file.' });
  });

  it('blocks a diff over MAX_DIFF_BYTES', () => {
    const result = checkDiff({ bytes: 1001, parsed: small }, 1000);
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]!.message).toContain('1001 bytes, over the review limit of 1000 bytes (MAX_DIFF_BYTES)');
  });

  it('blocks a diff that cannot be parsed', () => {
    const result = checkDiff({ bytes: 10, parseError: 'diff line 4: hunk ends early' }, 1000);
    expect(result.findings[0]!.message).toBe('The diff could not be parsed: diff line 4: hunk ends early.');
  });
});
