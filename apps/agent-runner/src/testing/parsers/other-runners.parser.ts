import { capTests, countOf, countTests, durationOf, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

const PYTEST_STATUS: Record<string, TestStatus> = { PASSED: 'passed', XPASS: 'passed', FAILED: 'failed', ERROR: 'failed', SKIPPED: 'skipped', XFAIL: 'skipped' };

/**
 * pytest: the final line `==== 1 failed, 3 passed, 1 skipped, 1 xfailed in 0.9s ====` (or "no
 * tests ran"); per test from `-v` lines (`test_x.py::test_ok PASSED [ 16%]`) and the short summary
 * (`FAILED test_x.py::test_bad - assert 1 == 2`). Errors count as failures, xfail as skipped.
 */
export const parsePytest: RunnerParser = (text) => {
  const m = [...text.matchAll(/^=+ (.*?\b(?:passed|failed|skipped|error|errors|xfailed|xpassed|deselected|no tests ran)\b.*?) in [\d.]+s(?: \([^)]*\))? =+[ \t]*$/gm)].at(-1);
  if (!m) return undefined;
  const parts = m[1]!;
  const passed = countOf(parts, /passed/) + countOf(parts, /xpassed/);
  const failed = countOf(parts, /failed/) + countOf(parts, /errors?/);
  const skipped = countOf(parts, /skipped/) + countOf(parts, /xfailed/);
  const tests = new Map<string, TestCase>();
  for (const line of text.split('\n')) {
    const verbose = /^(\S+?)::(\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b/.exec(line);
    const short = verbose ? undefined : /^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+?)::(\S+?)(?: - .*)?$/.exec(line);
    if (verbose) tests.set(`${verbose[1]}::${verbose[2]}`, { name: verbose[2]!, file: verbose[1]!, status: PYTEST_STATUS[verbose[3]!]! });
    else if (short && !tests.has(`${short[2]}::${short[3]}`)) tests.set(`${short[2]}::${short[3]}`, { name: short[3]!, file: short[2]!, status: PYTEST_STATUS[short[1]!]! });
  }
  return { format: 'pytest', counts: { total: passed + failed + skipped, passed, failed, skipped }, tests: capTests([...tests.values()]) };
};

/**
 * go test: `--- PASS: TestX (0.00s)` / FAIL / SKIP lines (all tests with -v, failures without),
 * subtests as `TestX/case`; package lines `ok  \tpkg\t0.01s` and `FAIL\tpkg\t0.01s`. Counts come
 * from the test lines, so without -v a passing run counts its packages' failures only.
 */
export const parseGo: RunnerParser = (text) => {
  const tests: TestCase[] = [];
  let packages = 0;
  let pendingFile: string | undefined;
  for (const line of text.split('\n')) {
    const t = /^\s*--- (PASS|FAIL|SKIP): (\S+) \(([\d.]+s)\)/.exec(line);
    if (t) {
      const durationMs = durationOf(t[3]);
      tests.push({ name: t[2]!, status: t[1] === 'PASS' ? 'passed' : t[1] === 'FAIL' ? 'failed' : 'skipped', ...(durationMs !== undefined ? { durationMs } : {}) });
      continue;
    }
    const pkg = /^(ok|FAIL|---? FAIL)\s+(\S+)\s+([\d.]+s|\(cached\)|\[[^\]]+\])/.exec(line);
    if (pkg) {
      packages += 1;
      pendingFile = pkg[2];
      // Tests printed since the last package line belong to this package.
      for (let i = tests.length - 1; i >= 0 && tests[i]!.file === undefined; i -= 1) tests[i]!.file = pendingFile;
    }
  }
  if (tests.length === 0 && packages === 0) return undefined;
  return { format: 'go', counts: countTests(tests), tests: capTests(tests) };
};
