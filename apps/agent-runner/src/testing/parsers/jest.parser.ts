import { allMatches, countOf, NO_COUNTS, spansOf, sumRuns, testCase, type Run, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

// Token by token (`1 failed, 2 passed, 3 total`): a loose `.*\d+ total` backtracks quadratically on a long line.
const SUMMARY = /^(?:[ \t]*Test Suites:[ \t]+(?:\d+ [a-z]+, )*\d+ total[ \t]*\n)?[ \t]*Tests:[ \t]+((?:\d+ [a-z]+, )*\d+ total)[ \t]*$/gm;
const NONE = /^No tests found, exiting with code \d+/gm;
const VERBOSE = /^\s+(✓|√|✕|×|○|✎)\s+(?:(skipped|todo)\s+)?(.+?)(\s+\(\d+(?:\.\d+)?\s*m?s\))?$/;

/** One run's tests: `--verbose` lines, and failures as `● suite › name` (the default reporter's only names). */
function readRun(body: string, parts: string | undefined): Run {
  const counts = parts
    ? {
        total: countOf(parts, /total/),
        passed: countOf(parts, /passed/),
        failed: countOf(parts, /failed/),
        skipped: countOf(parts, /skipped/) + countOf(parts, /todo/) + countOf(parts, /pending/),
      }
    : { ...NO_COUNTS };
  const tests: TestCase[] = [];
  // Suites that failed to run (a syntax error, a throw at import): Jest counts none of their tests.
  const broken: TestCase[] = [];
  const seenFailures = new Set<string>();
  let file: string | undefined;
  for (const line of body.split('\n')) {
    const suite = /^\s*(PASS|FAIL)\s+(\S+)/.exec(line);
    if (suite) {
      file = suite[2];
      continue;
    }
    const verbose = VERBOSE.exec(line);
    if (verbose) {
      const status: TestStatus = verbose[1] === '✓' || verbose[1] === '√' ? 'passed' : verbose[1] === '✕' || verbose[1] === '×' ? 'failed' : 'skipped';
      const name = verbose[3]!.trim();
      if (status === 'failed') seenFailures.add(name);
      tests.push(testCase(name, status, file, verbose[4]));
      continue;
    }
    const failure = /^\s+● (.+)$/.exec(line);
    if (!failure || /^Console$/.test(failure[1]!)) continue;
    const name = failure[1]!.trim();
    if (name === 'Test suite failed to run') {
      broken.push(testCase(`${file ?? 'a test file'} (test suite failed to run)`, 'failed', file));
    } else if (!seenFailures.has(name) && !seenFailures.has(name.split(' › ').at(-1)!)) {
      seenFailures.add(name);
      tests.push(testCase(name, 'failed', file));
    }
  }
  return { counts, tests, broken };
}

/**
 * Jest: summary `Tests:       1 failed, 1 skipped, 1 todo, 3 passed, 5 total` (after `Test Suites:`),
 * or `No tests found, exiting with code 0` (a real "no test"); tests from --verbose lines (`✓ name
 * (5 ms)`, `✕`, `○ skipped`, `✎ todo`) or failures (`● suite › name`). A suite that failed to run
 * has no count of its own: it is added as one failed test; when no test ran at all it is a crash,
 * and the counts are unknown. Several runs in one output are summed.
 */
export const parseJest: RunnerParser = (text) => {
  const found = [...allMatches(text, SUMMARY), ...allMatches(text, NONE)].sort((a, b) => a.index! - b.index!);
  return sumRuns('jest', text, spansOf(found), (body, i) => readRun(body, found[i]![1]));
};
