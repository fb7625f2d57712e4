import type { TestCountsDto, TestOutputFormat } from '@agency/contracts';

export interface TestOutcome {
  round: number;
  passed: boolean;
  counts: TestCountsDto;
  format?: TestOutputFormat;
  exitCode?: number;
  timedOut?: boolean;
}

/** An output no parser understood has counts that mean nothing: say what is known (the exit code), never "0/0". */
function unparsed(t: TestOutcome): boolean {
  return t.format === 'unparsed';
}

/** For the saga's log line: "passed (12/12 passed)", "failed (exit code 1; output not in a known format)". */
export function testVerdict(t: TestOutcome): string {
  const verdict = t.timedOut ? 'timed out' : t.passed ? 'passed' : 'failed';
  return unparsed(t)
    ? `${verdict} (exit code ${t.exitCode ?? 'unknown'}; output not in a known format, no test counts)`
    : `${verdict} (${t.counts.passed}/${t.counts.total} passed)`;
}

/** For the PR body and the coder: the counts when they mean something, the exit code when not. */
export function testSummary(t: TestOutcome | undefined): string {
  if (!t) return 'not run';
  const verdict = t.passed ? 'passed' : 'failed';
  if (unparsed(t)) return `${verdict}: exit code ${t.exitCode ?? 'unknown'}, output not in a known format (no test counts) (round ${t.round})`;
  return `${verdict}: ${t.counts.passed} passed, ${t.counts.failed} failed, ${t.counts.skipped} skipped of ${t.counts.total} (round ${t.round})`;
}
