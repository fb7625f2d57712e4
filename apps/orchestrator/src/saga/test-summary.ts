import type { BaseFailuresDto, LintResultDto, TestCountsDto, TestOutputFormat } from '@agency/contracts';

export interface TestOutcome {
  round: number;
  passed: boolean;
  counts: TestCountsDto;
  format?: TestOutputFormat;
  exitCode?: number;
  timedOut?: boolean;
  lint?: LintResultDto;
  failedAtBase?: BaseFailuresDto;
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
    : `${verdict} (${t.counts.passed}/${t.counts.total} passed${t.failedAtBase ? `; the ${t.failedAtBase.count} failing test(s) already failed at the base, before any change` : ''})`;
}

/**
 * The lint line under the counts (relay trial on unjs/citty: that the configured lint ran and passed
 * was only in the reviewer's prompt). "not run" when the repository has a lint but the test step
 * brought no result (its setup failed); nothing when none is configured.
 */
export function lintSummary(lint: LintResultDto | undefined, configured: string | undefined): string | undefined {
  if (lint) return `lint: \`${lint.command}\` ${lint.timedOut ? 'timed out' : lint.exitCode === 0 ? 'passed' : `failed (exit code ${lint.exitCode})`}`;
  return configured?.trim() ? `lint: \`${configured.trim()}\` not run` : undefined;
}

/** For the PR body and the coder: the counts when they mean something, the exit code when not; the lint on a line of its own. */
export function testSummary(t: TestOutcome | undefined, lintCommand?: string): string {
  if (!t) return 'not run';
  const verdict = t.passed ? 'passed' : 'failed';
  const tests = unparsed(t)
    ? `${verdict}: exit code ${t.exitCode ?? 'unknown'}, output not in a known format (no test counts) (round ${t.round})`
    : `${verdict}: ${t.counts.passed} passed, ${t.counts.failed} failed, ${t.counts.skipped} skipped of ${t.counts.total} (round ${t.round})`;
  // The PR's reader learns the failures are not the change's (commander.js trial: nothing said so).
  const atBase = t.failedAtBase
    ? `\nthe ${t.failedAtBase.count} failing test(s) already failed at the base, before any change: ${baseNames(t.failedAtBase)}`
    : '';
  const lint = lintSummary(t.lint, lintCommand);
  return lint ? `${tests}${atBase}\n${lint}` : `${tests}${atBase}`;
}

function baseNames(f: BaseFailuresDto): string {
  const shown = f.names.slice(0, 5).join('; ');
  return f.count > 5 ? `${shown}; and ${f.count - 5} more` : shown;
}
