import type { BaseFailuresDto, TestResultDto } from '@agency/contracts';
import type { ParsedDiff } from '../diff/unified-diff.parser.js';
import type { CheckResult, Finding } from '../review/review.model.js';

function checkFinding(check: string, f: Omit<Finding, 'source' | 'check' | 'confidence'>): Finding {
  return { ...f, source: 'check', check, confidence: 1 };
}

/** The tests that failed at the base, as the check and the model's prompt name them: the first ten, then how many more. */
export function baseFailureNames(f: BaseFailuresDto): string {
  return `${f.names.slice(0, 10).join('; ')}${f.count > 10 ? `; and ${f.count - 10} more` : ''}`;
}

/**
 * Tests must have passed; a failed run blocks the review whatever the model thinks, unless every
 * failure already failed at the job's base (named by the runner, checked by the test step): those
 * are a note, and the model reviews the change (a commander.js relay trial lost a round to four
 * tests the sandbox could not pass at the base either, while the coder was told they were not its
 * to fix).
 */
export function checkTests(tests: TestResultDto): CheckResult {
  const { passed, counts, report } = tests;
  // An output no parser understood has no counts: only the exit code speaks, and "no test" cannot be concluded.
  const unparsed = tests.format === 'unparsed';
  const tally = unparsed
    ? 'no runner summary was recognised in the output, so the counts are unknown'
    : `${counts.passed}/${counts.total} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
  const atBase = tests.failedAtBase;
  if (!passed && !unparsed && atBase && atBase.count === counts.failed) {
    return {
      id: 'tests',
      passed: true,
      detail: `${tally}; every failing test already failed at the base`,
      findings: [
        checkFinding('tests', {
          file: '',
          severity: 'minor',
          message: `The tests failed (${tally}), but only tests that already failed at the base, before any change: ${baseFailureNames(atBase)}.`,
          suggestion: 'Nothing for this change to do unless the feature request is about them; the test report is artifact ' + report.key + '.',
          blocking: false,
        }),
      ],
    };
  }
  if (!passed || (!unparsed && counts.failed > 0)) {
    return {
      id: 'tests',
      passed: false,
      detail: tally,
      findings: [
        checkFinding('tests', {
          file: '',
          severity: 'critical',
          message: unparsed
            ? `The test command failed (${tally}); its output's tail is in the test report, artifact ${report.key}.`
            : `The tests failed: ${tally}. The test report is artifact ${report.key}.`,
          suggestion: 'Make the failing tests pass; do not weaken or delete them.',
          blocking: true,
        }),
      ],
    };
  }
  if (unparsed) return { id: 'tests', passed: true, detail: `the test command exited 0 (${tally})`, findings: [] };
  if (counts.total === 0) {
    return {
      id: 'tests',
      passed: true,
      detail: 'the test command passed but reported no test',
      findings: [
        checkFinding('tests', {
          file: '',
          severity: 'minor',
          message: 'The test command passed but reported no test at all.',
          suggestion: 'Add a test for the new behaviour.',
          blocking: false,
        }),
      ],
    };
  }
  return { id: 'tests', passed: true, detail: tally, findings: [] };
}

export interface DiffInput {
  bytes: number;
  parsed?: ParsedDiff;
  /** Why the diff could not be parsed, when it could not. */
  parseError?: string;
}

/** The change must exist, be readable and stay within the size a review can cover. */
export function checkDiff(input: DiffInput, maxBytes: number): CheckResult {
  const findings: Finding[] = [];
  const details: string[] = [];
  if (input.bytes > maxBytes) {
    details.push(`${input.bytes} bytes, over the limit of ${maxBytes}`);
    findings.push(
      checkFinding('diff', {
        file: '',
        severity: 'major',
        message: `The diff is ${input.bytes} bytes, over the review limit of ${maxBytes} bytes (MAX_DIFF_BYTES).`,
        suggestion: 'Split the FR into smaller phases, or leave generated files out of the change.',
        blocking: true,
      }),
    );
  }
  if (input.parseError !== undefined) {
    details.push(`unparseable: ${input.parseError}`);
    findings.push(checkFinding('diff', { file: '', severity: 'major', message: `The diff could not be parsed: ${input.parseError}.`, blocking: true }));
  } else if (!input.parsed || input.parsed.files.length === 0) {
    details.push('empty: no file changed');
    findings.push(
      checkFinding('diff', {
        file: '',
        severity: 'major',
        message: 'The change is empty: the diff touches no file.',
        suggestion: 'Implement the FR; an empty change cannot be reviewed.',
        blocking: true,
      }),
    );
  } else {
    const files = input.parsed.files;
    const added = files.reduce((n, f) => n + f.added.length, 0);
    const removed = files.reduce((n, f) => n + f.removed.length, 0);
    details.push(`${files.length} file(s), +${added} -${removed}, ${input.bytes} bytes`);
  }
  return { id: 'diff', passed: findings.length === 0, detail: details.join('; '), findings };
}
