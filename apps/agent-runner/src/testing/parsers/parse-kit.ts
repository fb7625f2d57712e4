import type { TestCountsDto, TestOutputFormat } from '@agency/contracts';

export type { TestOutputFormat };
export type TestStatus = 'passed' | 'failed' | 'skipped';

/** One test as its runner printed it. */
export interface TestCase {
  name: string;
  status: TestStatus;
  /** The file or package, when the runner says. */
  file?: string;
  durationMs?: number;
}

export interface ParsedTestOutput {
  /** `unparsed`: no count could be read (counts are all zero and mean nothing); `tests` may still name failures a runner printed. */
  format: TestOutputFormat;
  counts: TestCountsDto;
  /** Per-test results, when the runner prints them (verbose reporters, failures); may be fewer than counts.total. */
  tests: TestCase[];
}

/** A runner's reading of an output, with where its summary lines are (first to last run), to tell runners apart. */
export interface Reading extends ParsedTestOutput {
  summary: { start: number; end: number };
}

/** A runner's reading of the output: undefined when it is not that runner's. */
export type RunnerParser = (text: string) => Reading | undefined;

export const NO_COUNTS: TestCountsDto = { total: 0, passed: 0, failed: 0, skipped: 0 };

/**
 * The line the sandbox puts where it dropped the middle of a long output (`[... 123 bytes of output
 * omitted ...]`; also `... not shown ...`): counts read from per-test lines are incomplete after it.
 */
export const CUT_MARKER = /^\[\.\.\. \d+ bytes (?:of output omitted|not shown) \.\.\.\]$/m;

export function isCut(text: string): boolean {
  return CUT_MARKER.test(text);
}

export function allMatches(text: string, re: RegExp): RegExpMatchArray[] {
  return [...text.matchAll(re)];
}

/** `12 passed` in "1 failed, 12 passed, 13 total" (0 when absent). */
export function countOf(parts: string, label: RegExp): number {
  const m = parts.match(new RegExp(`(\\d+)\\s+(?:${label.source})\\b`));
  return m ? Number(m[1]) : 0;
}

/** Counts from per-test results, for runners without a summary line. */
export function countTests(tests: readonly TestCase[]): TestCountsDto {
  const c = { total: tests.length, passed: 0, failed: 0, skipped: 0 };
  for (const t of tests) c[t.status] += 1;
  return c;
}

export function addCounts(a: TestCountsDto, b: TestCountsDto): TestCountsDto {
  return { total: a.total + b.total, passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped };
}

/** Counts whose total is the sum of the parts (runners' totals sometimes leave skipped tests out). */
export function counts(passed: number, failed: number, skipped: number): TestCountsDto {
  return { total: passed + failed + skipped, passed, failed, skipped };
}

/** `(0.43ms)`, `12ms`, `1.5 s`, `(0.00s)`, `time=3.2ms` -> milliseconds. */
export function durationOf(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /([\d.]+)\s*(ms|s)\b/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  return Math.round((m[2] === 's' ? n * 1000 : n) * 1000) / 1000;
}

/** A test case, leaving out the optional fields that are unknown. */
export function testCase(name: string, status: TestStatus, file?: string, duration?: string | number): TestCase {
  const durationMs = typeof duration === 'number' ? duration : durationOf(duration);
  return { name, status, ...(file ? { file } : {}), ...(durationMs !== undefined ? { durationMs } : {}) };
}

/** Indentation in columns (tabs count as 4). */
export function indentOf(line: string): number {
  const m = /^[ \t]*/.exec(line)![0];
  return m.replace(/\t/g, '    ').length;
}

/** Lines with their offsets in the text, for parsers that need to say where they read. */
export function linesOf(text: string): Array<{ line: string; at: number }> {
  const out: Array<{ line: string; at: number }> = [];
  let at = 0;
  for (const line of text.split('\n')) {
    out.push({ line, at });
    at += line.length + 1;
  }
  return out;
}

/**
 * For runners printing a tree where a parent's line comes after its children (node:test): keeps
 * the leaves. A line is a parent when the test line before it was indented deeper.
 */
export function leavesOfPostOrder<T extends { indent: number }>(items: readonly T[]): T[] {
  return items.filter((item, i) => i === 0 || items[i - 1]!.indent <= item.indent);
}

/** At most this many per-test entries are kept in a report. */
export const MAX_TESTS = 5000;

export function capTests(tests: TestCase[]): TestCase[] {
  return tests.length > MAX_TESTS ? tests.slice(0, MAX_TESTS) : tests;
}

/** A reading whose counts could not be known (a crash before any test ran, counts cut away): only failures it named. */
export function uncounted(tests: TestCase[], summary: Reading['summary']): Reading {
  return { format: 'unparsed', counts: { ...NO_COUNTS }, tests: capTests(tests.filter((t) => t.status === 'failed')), summary };
}

/** One run of a runner (one summary): its counts and tests; `broken`: files that failed to load, which the runner did not count. */
export interface Run {
  counts: TestCountsDto;
  tests: TestCase[];
  broken?: TestCase[];
  /** The run's counts cannot be known (a crash before any test ran, the lines they come from cut away). */
  unknown?: boolean;
}

/**
 * Sums a runner's runs, each read from the text between the previous summary and its own. A file
 * that failed to load counts as one failed test; when nothing but such files "ran", it was a crash
 * before any test and the counts are unknown.
 */
export function sumRuns(
  format: TestOutputFormat,
  text: string,
  summaries: ReadonlyArray<{ start: number; end: number }>,
  read: (body: string, i: number) => Run,
): Reading | undefined {
  if (summaries.length === 0) return undefined;
  let total: TestCountsDto = { ...NO_COUNTS };
  const tests: TestCase[] = [];
  let broken = 0;
  let unknown = false;
  summaries.forEach((s, i) => {
    const run = read(text.slice(i === 0 ? 0 : summaries[i - 1]!.end, s.start), i);
    unknown ||= run.unknown === true;
    const b = run.broken ?? [];
    total = addCounts(total, addCounts(run.counts, { total: b.length, passed: 0, failed: b.length, skipped: 0 }));
    broken += b.length;
    tests.push(...run.tests, ...b);
  });
  const summary = { start: summaries[0]!.start, end: summaries.at(-1)!.end };
  if (unknown || (broken > 0 && total.total === broken)) return uncounted(tests, summary);
  return { format, counts: total, tests: capTests(tests), summary };
}

/** Where each match is, as a summary span. */
export function spansOf(matches: readonly RegExpMatchArray[]): Array<{ start: number; end: number }> {
  return matches.map((m) => ({ start: m.index!, end: m.index! + m[0].length }));
}
