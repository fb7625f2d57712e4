import { allMatches, countOf, counts, spansOf, sumRuns, testCase, type Run, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

const STATUS: Record<string, TestStatus> = { PASSED: 'passed', XPASS: 'passed', FAILED: 'failed', ERROR: 'failed', SKIPPED: 'skipped', XFAIL: 'skipped' };
const WORDS = 'passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?|rerun|subtests passed|subtests failed';
// `===== 1 failed, 3 passed, 1 skipped in 0.12s =====`, the same bare with -q, or `no tests ran in 0.01s`.
const SUMMARY = new RegExp(`^(?:=+ )?((?:\\d+ (?:${WORDS})(?:, )?)+|no tests ran) in [\\d.]+s(?: \\([^)]*\\))?(?: =+)?[ \\t]*$`, 'gm');

/** Per test from `-v` lines (`test_x.py::test_ok PASSED [ 16%]`) and the short summary (`FAILED test_x.py::test_bad - ...`). */
function readTests(body: string): TestCase[] {
  const tests = new Map<string, TestCase>();
  for (const line of body.split('\n')) {
    const verbose = /^(\S+?)::(\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b/.exec(line);
    const short = verbose ? undefined : /^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+?)(?:::(\S+?))?(?: - .*)?$/.exec(line);
    if (verbose) tests.set(`${verbose[1]}::${verbose[2]}`, testCase(verbose[2]!, STATUS[verbose[3]!]!, verbose[1]));
    // `ERROR test_x.py` alone: the file failed to be collected.
    else if (short && !tests.has(`${short[2]}::${short[3] ?? ''}`))
      tests.set(`${short[2]}::${short[3] ?? ''}`, testCase(short[3] ?? `${short[2]} (collection error)`, STATUS[short[1]!]!, short[2]));
  }
  return [...tests.values()];
}

/**
 * pytest: the closing line `==== 1 failed, 3 passed, 1 skipped, 1 xfailed in 0.9s ====` (bare
 * with -q; `no tests ran` is a real "no test"). Errors count as failures, xfail as skipped, xpass
 * as passed. A run interrupted by errors during collection ran no test: its counts are unknown.
 */
export const parsePytest: RunnerParser = (text) => {
  const found = allMatches(text, SUMMARY);
  return sumRuns('pytest', text, spansOf(found), (body, i): Run => {
    const parts = found[i]![1]!;
    const tests = readTests(body);
    const ran = countOf(parts, /passed|failed|skipped|xfailed|xpassed/);
    if (ran === 0 && /^!+ Interrupted: \d+ errors? during collection !+$/m.test(body)) {
      return { counts: counts(0, 0, 0), tests, unknown: true };
    }
    const passed = countOf(parts, /passed/) + countOf(parts, /xpassed/);
    const failed = countOf(parts, /failed/) + countOf(parts, /errors?/);
    const skipped = countOf(parts, /skipped/) + countOf(parts, /xfailed/);
    return { counts: counts(passed, failed, skipped), tests };
  });
};
