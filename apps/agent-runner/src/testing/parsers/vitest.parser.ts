import type { TestCountsDto } from '@agency/contracts';
import { allMatches, countOf, NO_COUNTS, spansOf, sumRuns, testCase, type Run, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

// `Tests  1 failed | 3 passed | 1 skipped (5)`, or `Tests  no tests` (every file failed to load).
const SUMMARY = /^(?:[ \t]*Test Files[ \t]+.*\n)?[ \t]*Tests[ \t]+(?:((?:\d+[ \t]+[a-z]+(?:[ \t]*\|[ \t]*)?)+)[ \t]*\((\d+)\)|(no tests))[ \t]*$/gm;
const NONE = /^No test files found, exiting with code \d+/gm;
const FILE_LINE = /^\s*(?:✓|❯|×)\s+(\S+?)\s+\(\d+ tests?\b/;
const TEST_LINE = /^\s*(✓|×|↓|□|✗)\s+(.+?)(\s+\d+(?:\.\d+)?m?s)?(\s+\[skipped\])?$/;

/** `a.test.mjs > math > adds` -> file and name; `math > adds` under a file line keeps that file. */
function split(full: string, file: string | undefined): { name: string; file?: string } {
  const sep = full.indexOf(' > ');
  if (sep > 0 && /\.\w+$/.test(full.slice(0, sep))) return { name: full.slice(sep + 3), file: full.slice(0, sep) };
  return { name: full, ...(file ? { file } : {}) };
}

/**
 * One run's tests: the tree (default) or verbose reporter's lines, not the per-file `(N tests)` lines;
 * then the `FAIL  file > suite > name` headers of "Failed Tests" for failures no line named (vitest 1
 * prints only those), and `FAIL  file [ file ]` of "Failed Suites" for files that failed to load.
 */
function readRun(body: string, counts: TestCountsDto): Run {
  const tests: TestCase[] = [];
  const broken: TestCase[] = [];
  const failedSection = body.search(/Failed (?:Tests|Suites) \d+/);
  let file: string | undefined;
  for (const line of (failedSection >= 0 ? body.slice(0, failedSection) : body).split('\n')) {
    const f = FILE_LINE.exec(line);
    if (f) {
      file = f[1];
      continue;
    }
    const t = TEST_LINE.exec(line);
    if (!t) continue;
    const status: TestStatus = t[1] === '✓' ? 'passed' : t[1] === '×' || t[1] === '✗' ? 'failed' : 'skipped';
    const at = split(t[2]!.trim(), file);
    tests.push(testCase(at.name, status, at.file, t[3]));
  }
  if (failedSection >= 0) {
    for (const line of body.slice(failedSection).split('\n')) {
      const suite = /^\s*FAIL\s+(\S+) \[ .* \]\s*$/.exec(line);
      if (suite) {
        broken.push(testCase(`${suite[1]} (failed to load)`, 'failed', suite[1]));
        continue;
      }
      const fail = /^\s*FAIL\s+(.+? > .+?)\s*$/.exec(line);
      if (!fail) continue;
      const at = split(fail[1]!, undefined);
      const leaf = at.name.split(' > ').at(-1)!;
      const known = tests.some((x) => x.status === 'failed' && (x.name === at.name || x.name === leaf) && (!x.file || x.file === at.file));
      if (!known) tests.push(testCase(at.name, 'failed', at.file));
    }
  }
  return { counts, tests, broken };
}

function countsOf(m: RegExpMatchArray): TestCountsDto {
  const parts = m[1];
  if (!parts) return { ...NO_COUNTS };
  return {
    total: Number(m[2]),
    passed: countOf(parts, /passed/),
    failed: countOf(parts, /failed/),
    skipped: countOf(parts, /skipped/) + countOf(parts, /todo/),
  };
}

/**
 * Vitest 1 to 5: summary `Tests  1 failed | 3 passed | 1 skipped | 1 todo (5)`, `Tests  no tests`, or
 * `No test files found, exiting with code 0` (a real "no test"). A file that failed to load counts
 * as one failed test; when no test ran at all it is a crash and the counts are unknown.
 */
export const parseVitest: RunnerParser = (text) => {
  const found = [...allMatches(text, SUMMARY), ...allMatches(text, NONE)].sort((a, b) => a.index! - b.index!);
  return sumRuns('vitest', text, spansOf(found), (body, i) => readRun(body, countsOf(found[i]!)));
};
