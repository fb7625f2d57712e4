import type { TestCountsDto } from '@agency/contracts';
import { capTests, countOf, durationOf, indentOf, lastMatch, leavesOfPostOrder, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

/**
 * node:test: the spec reporter (`✔ name (0.4ms)`, `✖`, `﹣ ... # SKIP`, summary `ℹ tests 3`) or TAP
 * (`ok 1 - name`, `not ok`, `# SKIP`/`# TODO`, summary `# tests 3`). Only the last summary counts:
 * a runner that prints per-file summaries ends with the total. Per-test lines are read up to the
 * summary (the spec reporter repeats failures after it), keeping leaves, not suites.
 */
export const parseNode: RunnerParser = (text) => {
  const field = (name: string) => {
    const m = lastMatch(text, new RegExp(`^[ \\t]*(?:#|ℹ)[ \\t]*${name}[ \\t]+(\\d+)[ \\t]*$`, 'gm'));
    return m ? Number(m[1]) : undefined;
  };
  const total = field('tests');
  const pass = field('pass');
  const fail = field('fail');
  if (total === undefined || (pass === undefined && fail === undefined)) return undefined;
  const skipped = (field('skipped') ?? 0) + (field('todo') ?? 0);
  const counts: TestCountsDto = { total, passed: pass ?? 0, failed: (fail ?? 0) + (field('cancelled') ?? 0), skipped };

  const summaryAt = text.search(/^[ \t]*(?:#|ℹ)[ \t]*tests[ \t]+\d+[ \t]*$/m);
  const body = summaryAt >= 0 ? text.slice(0, summaryAt) : text;
  const found: Array<TestCase & { indent: number }> = [];
  for (const line of body.split('\n')) {
    const tap = /^([ \t]*)(not ok|ok) \d+(?: - (.*?))?(?:\s+#\s*(SKIP|TODO)\b.*)?$/i.exec(line);
    if (tap) {
      const status: TestStatus = tap[4] ? 'skipped' : tap[2] === 'ok' ? 'passed' : 'failed';
      found.push({ name: (tap[3] ?? '').trim() || '(unnamed)', status, indent: indentOf(line) });
      continue;
    }
    const spec = /^([ \t]*)(✔|✖|﹣|⚠)\s+(.*?)(\s+\([\d.]+m?s\))?(\s+#\s*(SKIP|TODO)\b.*)?$/.exec(line);
    if (spec) {
      const status: TestStatus = spec[6] || spec[2] === '﹣' ? 'skipped' : spec[2] === '✔' ? 'passed' : 'failed';
      const durationMs = durationOf(spec[4]);
      found.push({ name: spec[3]!.trim(), status, indent: indentOf(line), ...(durationMs !== undefined ? { durationMs } : {}) });
    }
  }
  const tests = leavesOfPostOrder(found).map(({ indent: _indent, ...t }) => t);
  return { format: 'node', counts, tests: capTests(tests) };
};

/**
 * Jest: summary `Tests:       1 failed, 1 skipped, 3 passed, 5 total`; per test with --verbose
 * (`✓ name (5 ms)`, `✕`, `○ skipped`, `✎ todo`), and failures as `● suite › name` otherwise.
 */
export const parseJest: RunnerParser = (text) => {
  const m = lastMatch(text, /^[ \t]*Tests:[ \t]+(.*?\d+ total)[ \t]*$/gm);
  if (!m) return undefined;
  const parts = m[1]!;
  const counts = {
    total: countOf(parts, /total/),
    passed: countOf(parts, /passed/),
    failed: countOf(parts, /failed/),
    skipped: countOf(parts, /skipped/) + countOf(parts, /todo/) + countOf(parts, /pending/),
  };
  const tests: TestCase[] = [];
  const seenFailures = new Set<string>();
  let file: string | undefined;
  for (const line of text.split('\n')) {
    const suite = /^\s*(PASS|FAIL)\s+(\S+)/.exec(line);
    if (suite) {
      file = suite[2];
      continue;
    }
    const verbose = /^\s+(✓|√|✕|×|○|✎)\s+(?:(skipped|todo)\s+)?(.+?)(\s+\(\d+(?:\.\d+)?\s*m?s\))?$/.exec(line);
    if (verbose) {
      const status: TestStatus = verbose[1] === '✓' || verbose[1] === '√' ? 'passed' : verbose[1] === '✕' || verbose[1] === '×' ? 'failed' : 'skipped';
      const durationMs = durationOf(verbose[4]);
      const name = verbose[3]!.trim();
      if (status === 'failed') seenFailures.add(name);
      tests.push({ name, status, ...(file ? { file } : {}), ...(durationMs !== undefined ? { durationMs } : {}) });
      continue;
    }
    const failure = /^\s+● (.+)$/.exec(line);
    if (failure && !/^Test suite failed to run/.test(failure[1]!) && !/^Console$/.test(failure[1]!)) {
      const name = failure[1]!.trim();
      const leaf = name.split(' › ').at(-1)!;
      if (!seenFailures.has(name) && !seenFailures.has(leaf)) {
        seenFailures.add(name);
        tests.push({ name, status: 'failed', ...(file ? { file } : {}) });
      }
    }
  }
  return { format: 'jest', counts, tests: capTests(tests) };
};

/**
 * Vitest: summary `Tests  1 failed | 3 passed | 1 skipped (5)`; per test in the tree or verbose
 * reporter (`✓ name 2ms`, `× name`, `↓ skipped`, `□ todo`), not the per-file `(N tests)` lines.
 */
export const parseVitest: RunnerParser = (text) => {
  const m = lastMatch(text, /^[ \t]*Tests[ \t]+((?:\d+[ \t]+\w+(?:[ \t]*\|[ \t]*)?)+)[ \t]*\((\d+)\)[ \t]*$/gm);
  if (!m) return undefined;
  const parts = m[1]!;
  const counts = {
    total: Number(m[2]),
    passed: countOf(parts, /passed/),
    failed: countOf(parts, /failed/),
    skipped: countOf(parts, /skipped/) + countOf(parts, /todo/),
  };
  const tests: TestCase[] = [];
  const summaryAt = text.search(/^[ \t]*Test Files[ \t]/m);
  const body = summaryAt >= 0 ? text.slice(0, summaryAt) : text;
  const failedSection = body.search(/Failed Tests \d+/);
  for (const line of (failedSection >= 0 ? body.slice(0, failedSection) : body).split('\n')) {
    const t = /^\s*(✓|×|↓|□|✗)\s+(.+?)(\s+\d+(?:\.\d+)?m?s)?(\s+\[skipped\])?$/.exec(line);
    if (!t || /\(\d+ tests?\b/.test(t[2]!)) continue;
    const status: TestStatus = t[1] === '✓' ? 'passed' : t[1] === '×' || t[1] === '✗' ? 'failed' : 'skipped';
    const full = t[2]!.trim();
    const sep = full.indexOf(' > ');
    const durationMs = durationOf(t[3]);
    tests.push({ name: sep > 0 ? full.slice(sep + 3) : full, status, ...(sep > 0 ? { file: full.slice(0, sep) } : {}), ...(durationMs !== undefined ? { durationMs } : {}) });
  }
  return { format: 'vitest', counts, tests: capTests(tests) };
};

/**
 * Mocha's spec reporter: `✔ name (5ms)`, `1) name` for a failure, `- name` pending, then
 * `2 passing (5ms)`, `1 failing`, `1 pending`. Failure details after the summary repeat the
 * `1) suite` headers, so only lines before it are read.
 */
export const parseMocha: RunnerParser = (text) => {
  const passing = lastMatch(text, /^[ \t]*(\d+) passing\b.*$/gm);
  if (!passing) return undefined;
  const failing = lastMatch(text, /^[ \t]*(\d+) failing[ \t]*$/gm);
  const pending = lastMatch(text, /^[ \t]*(\d+) pending[ \t]*$/gm);
  const passed = Number(passing[1]);
  const failed = failing ? Number(failing[1]) : 0;
  const skipped = pending ? Number(pending[1]) : 0;
  const body = text.slice(0, passing.index);
  const tests: TestCase[] = [];
  for (const line of body.split('\n')) {
    const ok = /^\s+(✔|✓)\s+(.+?)(\s+\(\d+ms\))?$/.exec(line);
    if (ok) {
      const durationMs = durationOf(ok[3]);
      tests.push({ name: ok[2]!.trim(), status: 'passed', ...(durationMs !== undefined ? { durationMs } : {}) });
      continue;
    }
    const bad = /^\s+\d+\) (.+)$/.exec(line);
    if (bad) {
      tests.push({ name: bad[1]!.trim(), status: 'failed' });
      continue;
    }
    const skip = /^\s+- (.+)$/.exec(line);
    if (skip) tests.push({ name: skip[1]!.trim(), status: 'skipped' });
  }
  return { format: 'mocha', counts: { total: passed + failed + skipped, passed, failed, skipped }, tests: capTests(tests) };
};
