import type { TestCountsDto } from '@agency/contracts';
import {
  addCounts,
  capTests,
  durationOf,
  indentOf,
  leavesOfPostOrder,
  linesOf,
  NO_COUNTS,
  testCase,
  uncounted,
  type Reading,
  type RunnerParser,
  type TestCase,
  type TestStatus,
} from './parse-kit.js';

const FIELD = /^[ \t]*(#|ℹ)[ \t]*(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)[ \t]+([\d.]+)[ \t]*$/;
const TAP_LINE = /^([ \t]*)(not ok|ok) \d+(?: - (.*?))?(?:\s+#\s*(SKIP|TODO)\b.*)?$/i;
// Every test line of the spec reporter has its duration (`▶ suite` lines and eslint's `✖ 2 problems` have none).
const SPEC_LINE = /^([ \t]*)(✔|✖|﹣|⚠)\s+(.*?)(\s+\([\d.]+m?s\))(\s+#.*)?$/;

interface Block {
  start: number;
  end: number;
  fields: Map<string, number>;
}

/** node:test's summary blocks (`ℹ tests 5`/`# tests 5`, then pass, fail...), one per run. */
function summaryBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | undefined;
  for (const { line, at } of linesOf(text)) {
    const f = FIELD.exec(line);
    if (!f) {
      current = undefined;
      continue;
    }
    if (f[2] === 'tests' || !current) {
      current = { start: at, end: at + line.length, fields: new Map() };
      blocks.push(current);
    }
    current.fields.set(f[2]!, Number(f[3]));
    current.end = at + line.length;
  }
  // tape's `# tests/# pass/# fail` (and its `# skip`) has none of node's own fields.
  return blocks.filter(
    (b) =>
      b.fields.has('tests') && (b.fields.has('pass') || b.fields.has('fail')) && ['suites', 'cancelled', 'duration_ms', 'skipped'].some((k) => b.fields.has(k)),
  );
}

function countsOf(b: Block): TestCountsDto {
  const n = (k: string) => b.fields.get(k) ?? 0;
  return { total: n('tests'), passed: n('pass'), failed: n('fail') + n('cancelled'), skipped: n('skipped') + n('todo') };
}

/** Tests printed before a summary (spec or TAP lines), leaves only: node prints a suite after its tests. */
function testsBefore(body: string): TestCase[] {
  const found: Array<TestCase & { indent: number }> = [];
  for (const line of body.split('\n')) {
    const tap = TAP_LINE.exec(line);
    if (tap) {
      const status: TestStatus = tap[4] ? 'skipped' : tap[2]!.toLowerCase() === 'ok' ? 'passed' : 'failed';
      found.push({ ...testCase((tap[3] ?? '').trim() || '(unnamed)', status), indent: indentOf(line) });
      continue;
    }
    const duration = /^[ \t]+duration_ms: ([\d.]+)$/.exec(line);
    const last = found.at(-1);
    if (duration && last && last.durationMs === undefined) {
      last.durationMs = durationOf(`${duration[1]}ms`)!;
      continue;
    }
    const spec = SPEC_LINE.exec(line);
    if (spec) {
      const directive = spec[5] ?? '';
      const status: TestStatus = spec[2] === '﹣' || /#\s*(SKIP|TODO)\b/.test(directive) ? 'skipped' : spec[2] === '✔' ? 'passed' : 'failed';
      found.push({ ...testCase(spec[3]!.trim(), status, undefined, spec[4]), indent: indentOf(line) });
    }
  }
  return leavesOfPostOrder(found).map(({ indent: _indent, ...t }) => t);
}

/** The spec reporter's "failing tests:" list after the summary says where each failure is (`test at file:line:col`). */
function attachFiles(tests: TestCase[], after: string): void {
  let file: string | undefined;
  for (const line of after.split('\n')) {
    const at = /^test at (.+?):\d+:\d+$/.exec(line);
    if (at) {
      file = at[1];
      continue;
    }
    const failed = file && /^✖ (.*?)(\s+\([\d.]+m?s\))?$/.exec(line);
    if (failed) {
      const t = tests.find((x) => x.status === 'failed' && x.name === failed[1] && !x.file);
      if (t) t.file = file;
      file = undefined;
    }
  }
}

/** The dot reporter (`..X.`) prints no count, only the failures (suites among them, "N subtest(s) failed"). */
function parseDot(text: string): Reading | undefined {
  const m = /^[.X]+\n(?:\n)*Failed tests:\n/m.exec(text);
  if (!m) return undefined;
  const lines = text.slice(m.index + m[0].length).split('\n');
  const failures: TestCase[] = [];
  lines.forEach((line, i) => {
    const f = /^✖ (.*?)(\s+\([\d.]+m?s\))?$/.exec(line);
    if (f && !/^\s*'\d+ subtests? failed'$/.test(lines[i + 1] ?? '')) failures.push(testCase(f[1]!, 'failed', undefined, f[2]));
  });
  return uncounted(failures, { start: m.index, end: m.index + m[0].length });
}

/**
 * node:test: the spec reporter (`✔ name (0.4ms)`, `✖`, `﹣ name # reason`, summary `ℹ tests 3`), TAP
 * (`ok 1 - name`, `not ok`, `# SKIP`/`# TODO`, summary `# tests 3` with node's own `# suites`,
 * `# cancelled`, `# duration_ms`), Node 20 and 24 alike; the dot reporter has no counts. Several
 * runs in one output are summed; each run's tests are those printed since the previous summary.
 */
export const parseNode: RunnerParser = (text) => {
  const blocks = summaryBlocks(text);
  if (blocks.length === 0) return parseDot(text);
  let total: TestCountsDto = { ...NO_COUNTS };
  const tests: TestCase[] = [];
  blocks.forEach((b, i) => {
    total = addCounts(total, countsOf(b));
    const run = testsBefore(text.slice(i === 0 ? 0 : blocks[i - 1]!.end, b.start));
    attachFiles(run, text.slice(b.end, blocks[i + 1]?.start ?? text.length));
    tests.push(...run);
  });
  return { format: 'node', counts: total, tests: capTests(tests), summary: { start: blocks[0]!.start, end: blocks.at(-1)!.end } };
};
