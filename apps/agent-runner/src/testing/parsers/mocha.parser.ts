import { counts, durationOf, linesOf, sumRuns, testCase, type Run, type RunnerParser, type TestCase } from './parse-kit.js';

const PASSING = /^[ \t]*(\d+) passing(?: \([\d.]+m?s\)| \(\d+m\))?[ \t]*$/;
const AFTER = /^[ \t]*(\d+) (pending|failing)[ \t]*$/;

/** Mocha's summary: `2 passing (7ms)`, then `2 pending` and `1 failing` on the lines right after. */
function summaries(text: string): Array<{ start: number; end: number; passed: number; failed: number; skipped: number }> {
  const out: Array<{ start: number; end: number; passed: number; failed: number; skipped: number }> = [];
  const lines = linesOf(text);
  lines.forEach(({ line, at }, i) => {
    const p = PASSING.exec(line);
    if (!p) return;
    const s = { start: at, end: at + line.length, passed: Number(p[1]), failed: 0, skipped: 0 };
    for (let j = i + 1; j < lines.length; j += 1) {
      const more = AFTER.exec(lines[j]!.line);
      if (!more) break;
      if (more[2] === 'pending') s.skipped = Number(more[1]);
      else s.failed = Number(more[1]);
      s.end = lines[j]!.at + lines[j]!.line.length;
    }
    out.push(s);
  });
  return out;
}

/** The spec reporter's lines before the summary: `✔ name (5ms)`, `1) name` failed, `- name` pending. */
function readRun(body: string): TestCase[] {
  const tests: TestCase[] = [];
  for (const line of body.split('\n')) {
    const ok = /^\s+(✔|✓)\s+(.+?)(\s+\(\d+ms\))?$/.exec(line);
    if (ok) {
      tests.push(testCase(ok[2]!.trim(), 'passed', undefined, durationOf(ok[3])));
      continue;
    }
    const bad = /^\s+\d+\) (.+)$/.exec(line);
    if (bad) {
      tests.push(testCase(bad[1]!.trim(), 'failed'));
      continue;
    }
    const skip = /^\s+- (.+)$/.exec(line);
    if (skip) tests.push(testCase(skip[1]!.trim(), 'skipped'));
  }
  return tests;
}

/**
 * Mocha's spec reporter: tests as `✔ name (5ms)`, `1) name`, `- name`, then `2 passing (5ms)`,
 * `1 pending`, `1 failing` (`0 passing` is a real "no test"). Failure details after the summary
 * repeat the `1) suite` headers, so only lines before it are read. A crash at load prints no summary.
 */
export const parseMocha: RunnerParser = (text) => {
  const found = summaries(text);
  return sumRuns('mocha', text, found, (body, i): Run => ({ counts: counts(found[i]!.passed, found[i]!.failed, found[i]!.skipped), tests: readRun(body) }));
};
