import type { TestCountsDto } from '@agency/contracts';

export type TestOutputFormat = 'node' | 'jest' | 'vitest' | 'mocha' | 'pytest' | 'go' | 'unknown';
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
  format: TestOutputFormat;
  counts: TestCountsDto;
  /** Per-test results, when the runner prints them (verbose reporters, failures); may be fewer than counts.total. */
  tests: TestCase[];
}

/** A runner's reading of the output: undefined when it is not that runner's. */
export type RunnerParser = (text: string) => ParsedTestOutput | undefined;

export const NO_COUNTS: TestCountsDto = { total: 0, passed: 0, failed: 0, skipped: 0 };

export function lastMatch(text: string, re: RegExp): RegExpMatchArray | undefined {
  let last: RegExpMatchArray | undefined;
  for (const m of text.matchAll(re)) last = m;
  return last;
}

/** `12 passed` in "1 failed, 12 passed, 13 total" (0 when absent). */
export function countOf(parts: string, label: RegExp): number {
  const m = parts.match(new RegExp(`(\\d+)\\s+(?:${label.source})`));
  return m ? Number(m[1]) : 0;
}

/** Counts from per-test results, for runners without a summary line. */
export function countTests(tests: readonly TestCase[]): TestCountsDto {
  const c = { total: tests.length, passed: 0, failed: 0, skipped: 0 };
  for (const t of tests) c[t.status] += 1;
  return c;
}

/** `(0.43ms)`, `12ms`, `1.5 s`, `(0.00s)` -> milliseconds. */
export function durationOf(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /([\d.]+)\s*(ms|s)\b/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round((m[2] === 's' ? n * 1000 : n) * 1000) / 1000;
}

/** Indentation in columns (tabs count as 4). */
export function indentOf(line: string): number {
  const m = /^[ \t]*/.exec(line)![0];
  return m.replace(/\t/g, '    ').length;
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
