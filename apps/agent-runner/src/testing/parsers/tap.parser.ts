import type { TestCountsDto } from '@agency/contracts';
import { capTests, counts, countTests, indentOf, isCut, linesOf, testCase, uncounted, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

const POINT = /^([ \t]*)(not ok|ok)(?:[ \t]+\d+)?(?:[ \t]+(.*))?$/i;
const DIRECTIVE = /(?:^|[ \t])#[ \t]*(?:(SKIP|TODO)\b|time=([\d.]+m?s))/i;
const SUBTEST = /^([ \t]*)# Subtest: (.+)$/;
const PLAN = /^([ \t]*)1\.\.(\d+)\b/;
// node-tap 18+: `# { total: 5, pass: 2, fail: 1, todo: 1, skip: 1 }`.
const TAPJS_SUMMARY = /^# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?(?:, todo: (\d+))?(?:, skip: (\d+))? \}$/m;
// tape and others: `# tests 4`, `# pass  3`, `# fail  1` (`# skip`, `# todo`) at the end.
const TRAILER = /^# (tests|pass|fail|skip|todo)[ \t]+(\d+)[ \t]*$/gm;

/** `- name # SKIP reason` -> name, whether skipped/todo, and node-tap's `# time=12ms`. */
function pointText(rest: string): { name: string; directive: boolean; time?: string } {
  const d = DIRECTIVE.exec(rest);
  const name = (d ? rest.slice(0, d.index) : rest).replace(/^[ \t]*-[ \t]*/, '').trim();
  return { name: name || '(unnamed)', directive: Boolean(d?.[1]), ...(d?.[2] ? { time: d[2] } : {}) };
}

interface Point extends TestCase {
  indent: number;
  /** Names of the enclosing subtests. */
  path: string[];
}

/** Test points with their nesting; a comment line (`# name`) just before a top-level point names it (tape). */
function pointsOf(text: string): { points: Point[]; start: number; end: number } {
  const points: Point[] = [];
  const stack: Array<{ indent: number; name: string }> = [];
  let comment: string | undefined;
  let start = -1;
  let end = -1;
  let yaml = false;
  for (const { line, at } of linesOf(text)) {
    // A point's YAML diagnostics (`  ---` to `  ...`) may quote anything, `ok 1` included; a block
    // never reaches column 0, so a line there (the sandbox's cut marker) ends one left open.
    if (yaml && !/^\S/.test(line)) {
      if (/^[ \t]+\.\.\.[ \t]*$/.test(line)) yaml = false;
      continue;
    }
    yaml = /^[ \t]+---[ \t]*$/.test(line);
    if (yaml) continue;
    const sub = SUBTEST.exec(line);
    if (sub) {
      const indent = indentOf(line);
      while (stack.length && stack.at(-1)!.indent >= indent) stack.pop();
      stack.push({ indent, name: sub[2]!.trim() });
      continue;
    }
    const p = POINT.exec(line);
    if (p) {
      const indent = indentOf(line);
      while (stack.length && stack.at(-1)!.indent > indent) stack.pop();
      // The point that closes a subtest has the subtest's own indentation and name.
      if (stack.length && stack.at(-1)!.indent === indent) stack.pop();
      const d = pointText(p[3] ?? '');
      const status: TestStatus = d.directive ? 'skipped' : p[2]!.toLowerCase() === 'ok' ? 'passed' : 'failed';
      const path = [...stack.map((s) => s.name), ...(indent === 0 && comment ? [comment] : [])];
      points.push({ ...testCase(d.name, status, undefined, d.time), indent, path });
      if (start < 0) start = at;
      end = at + line.length;
      continue;
    }
    // tape names its tests in comments (`# adds`); Test::More's diagnostics are indented (`#   Failed test`).
    const c = /^# (?!tests |pass |fail |skip |todo |time=|\{|Looks like )(\S.*)$/.exec(line);
    if (c) comment = c[1]!.replace(/^(SKIP|TODO) /, '');
    // The plan and the trailing comments (`# tests 4`...) belong to the stream's summary.
    if (start >= 0 && (/^#/.test(line) || PLAN.test(line))) end = at + line.length;
  }
  return { points, start, end };
}

/**
 * The tests that count: points with no child, and a failed point none of whose children failed (a
 * test that died on its own). A parent is recognised by the deeper points just before it.
 */
function leaves(points: readonly Point[]): TestCase[] {
  const out: TestCase[] = [];
  points.forEach((p, i) => {
    const children: Point[] = [];
    for (let j = i - 1; j >= 0 && points[j]!.indent > p.indent; j -= 1) children.push(points[j]!);
    if (children.length > 0 && !(p.status === 'failed' && !children.some((c) => c.status === 'failed'))) return;
    const { indent: _i, path, ...t } = p;
    const names = [...path, t.name].filter((n, k, all) => k === 0 || n !== all[k - 1]);
    // The first name of a node-tap path is the test file.
    const file = p.indent > 0 && /\.[cm]?[jt]sx?$/.test(path[0] ?? '') ? path[0] : undefined;
    out.push({ ...t, name: (file ? names.slice(1) : names).join(' > ') || t.name, ...(file ? { file } : {}) });
  });
  return out;
}

function trailer(text: string): TestCountsDto | undefined {
  const f = new Map<string, number>();
  for (const m of text.matchAll(TRAILER)) f.set(m[1]!, Number(m[2]));
  if (!f.has('tests') || !(f.has('pass') || f.has('fail'))) return undefined;
  return { total: f.get('tests')!, passed: f.get('pass') ?? 0, failed: f.get('fail') ?? 0, skipped: (f.get('skip') ?? 0) + (f.get('todo') ?? 0) };
}

/**
 * TAP 13/14 from any producer (tape, node-tap 16-21, AVA --tap, Perl's Test::More...): a stream with
 * `TAP version` or a plan `1..N` and `ok`/`not ok` points, nested subtests indented. Counts come
 * from node-tap 18+'s `# { total: ... }` line, else from the points (TAP's own truth; tape's
 * `# tests` counts assertions and passes TODO failures), else, when the output was cut, from a
 * `# tests/# pass/# fail` trailer; with none of these the counts are unknown.
 */
export const parseTap: RunnerParser = (text) => {
  const tapjs = TAPJS_SUMMARY.exec(text);
  const { points, start, end } = pointsOf(text);
  const top = points.filter((p) => p.indent === 0);
  const framed = /^TAP version \d+$/m.test(text) || /^1\.\.\d+/m.test(text);
  if (!tapjs && (top.length === 0 || !framed)) return undefined;
  const tests = leaves(points);
  const summaryEnd = tapjs ? tapjs.index + tapjs[0].length : end;
  const summary = { start: Math.max(0, tapjs ? Math.min(tapjs.index, start < 0 ? tapjs.index : start) : start), end: Math.max(summaryEnd, end) };
  if (tapjs) {
    const [, total, pass, fail, todo, skip] = tapjs.map((x) => Number(x ?? 0));
    return {
      format: 'tap',
      counts: { total: total!, passed: pass!, failed: fail!, skipped: todo! + skip! },
      tests: capTests(tests.length ? tests : baseReporterFailures(text)),
      summary,
    };
  }
  if (isCut(text)) {
    const t = trailer(text);
    return t ? { format: 'tap', counts: t, tests: capTests(tests), summary } : uncounted(tests, summary);
  }
  const c = countTests(tests);
  return { format: 'tap', counts: counts(c.passed, c.failed, c.skipped), tests: capTests(tests), summary };
};

/** node-tap 18+'s default (non-TAP) reporter names failures as `✖ test > assertion` with `file:line:col` after it or below. */
function baseReporterFailures(text: string): TestCase[] {
  const found = new Map<string, string>();
  for (const m of text.matchAll(/^[ \t]*✖ (.+?)(?:[ \t]+|[ \t]*\n[ \t]+)(\S+?):\d+:\d+[ \t]*$/gm)) if (!found.has(m[1]!)) found.set(m[1]!, m[2]!);
  return [...found].map(([name, file]) => testCase(name, 'failed', file));
}
