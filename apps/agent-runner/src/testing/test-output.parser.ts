import type { TestCountsDto } from '@agency/contracts';

export type TestOutputFormat = 'node' | 'jest' | 'vitest' | 'unknown';

export interface ParsedTestOutput {
  format: TestOutputFormat;
  counts: TestCountsDto;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

function lastMatch(text: string, re: RegExp): RegExpMatchArray | undefined {
  let last: RegExpMatchArray | undefined;
  for (const m of text.matchAll(re)) last = m;
  return last;
}

/**
 * node:test's summary, TAP (`# tests 3`) or spec reporter (`ℹ tests 3`). Only the last summary
 * counts: a runner that prints per-file summaries ends with the total.
 */
function parseNode(text: string): TestCountsDto | undefined {
  const field = (name: string) => {
    const m = lastMatch(text, new RegExp(`^[ \\t]*(?:#|ℹ)[ \\t]*${name}[ \\t]+(\\d+)[ \\t]*$`, 'gm'));
    return m ? Number(m[1]) : undefined;
  };
  const total = field('tests');
  const pass = field('pass');
  const fail = field('fail');
  if (total === undefined || (pass === undefined && fail === undefined)) return undefined;
  const skipped = (field('skipped') ?? 0) + (field('todo') ?? 0);
  return { total, passed: pass ?? 0, failed: (fail ?? 0) + (field('cancelled') ?? 0), skipped };
}

function countOf(parts: string, label: RegExp): number {
  const m = parts.match(new RegExp(`(\\d+)\\s+(?:${label.source})`));
  return m ? Number(m[1]) : 0;
}

/** Jest: `Tests:       1 failed, 1 skipped, 3 passed, 5 total`. */
function parseJest(text: string): TestCountsDto | undefined {
  const m = lastMatch(text, /^[ \t]*Tests:[ \t]+(.*?\d+ total)[ \t]*$/gm);
  if (!m) return undefined;
  const parts = m[1]!;
  return {
    total: countOf(parts, /total/),
    passed: countOf(parts, /passed/),
    failed: countOf(parts, /failed/),
    skipped: countOf(parts, /skipped/) + countOf(parts, /todo/) + countOf(parts, /pending/),
  };
}

/** Vitest: `      Tests  1 failed | 3 passed | 1 skipped (5)`. */
function parseVitest(text: string): TestCountsDto | undefined {
  const m = lastMatch(text, /^[ \t]*Tests[ \t]+((?:\d+[ \t]+\w+(?:[ \t]*\|[ \t]*)?)+)[ \t]*\((\d+)\)[ \t]*$/gm);
  if (!m) return undefined;
  const parts = m[1]!;
  return {
    total: Number(m[2]),
    passed: countOf(parts, /passed/),
    failed: countOf(parts, /failed/),
    skipped: countOf(parts, /skipped/) + countOf(parts, /todo/),
  };
}

/**
 * Test counts from a runner's output. Known formats: node:test (TAP and spec), Jest and Vitest
 * summaries; for anything else the counts are all zero and only the exit code speaks.
 */
export function parseTestOutput(output: string): ParsedTestOutput {
  const text = output.replace(ANSI, '').replace(/\r\n?/g, '\n');
  const node = parseNode(text);
  if (node) return { format: 'node', counts: node };
  const jest = parseJest(text);
  if (jest) return { format: 'jest', counts: jest };
  const vitest = parseVitest(text);
  if (vitest) return { format: 'vitest', counts: vitest };
  return { format: 'unknown', counts: { total: 0, passed: 0, failed: 0, skipped: 0 } };
}
