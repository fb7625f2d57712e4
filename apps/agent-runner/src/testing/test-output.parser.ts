import { withoutAnsi } from '../sandbox/bounded-output.js';
import { parseAva, parseUvu } from './parsers/ava-uvu.parser.js';
import { parseCargo, parseGo } from './parsers/go-cargo.parser.js';
import { parseJest } from './parsers/jest.parser.js';
import { parseJunitInOutput } from './parsers/junit-xml.parser.js';
import { parseMocha } from './parsers/mocha.parser.js';
import { parseNode } from './parsers/node.parser.js';
import { addCounts, capTests, NO_COUNTS, type ParsedTestOutput, type Reading, type RunnerParser } from './parsers/parse-kit.js';
import { parsePytest } from './parsers/pytest.parser.js';
import { parseTap } from './parsers/tap.parser.js';
import { parseVitest } from './parsers/vitest.parser.js';

export type { ParsedTestOutput, TestCase, TestOutputFormat, TestStatus } from './parsers/parse-kit.js';
export { parseJunitXml } from './parsers/junit-xml.parser.js';

/**
 * In order of preference when two read the same summary lines (node:test's TAP is also TAP): the
 * more specific first.
 */
const PARSERS: readonly RunnerParser[] = [
  parseNode,
  parseJest,
  parseVitest,
  parseMocha,
  parseAva,
  parseUvu,
  parsePytest,
  parseCargo,
  parseGo,
  parseTap,
  parseJunitInOutput,
];

const overlaps = (a: Reading['summary'], b: Reading['summary']) => a.start < b.end && b.start < a.end;

/** Longer lines are cut to this: no runner prints a summary or test line near it, and it bounds each pattern's work on hostile output. */
export const MAX_LINE_CHARS = 2000;

/** Colours, cursor moves and carriage returns out, so that lines read as a log shows them; over-long lines cut. */
export function normaliseOutput(output: string): string {
  const text = withoutAnsi(output).replace(/\r\n/g, '\n').replace(/\r/g, '\n');
  return text.replace(new RegExp(`^(.{${MAX_LINE_CHARS}}).+$`, 'gm'), '$1');
}

/**
 * A structured pass/fail report from a test command's output, whichever runner wrote it: node:test,
 * Jest, Vitest, Mocha, AVA, uvu, TAP (node-tap, tape...), pytest, go test, cargo test, and a JUnit
 * XML report printed into the output. Counts come from the runner's summary, per-test results
 * from the lines it prints. An output that holds
 * several runners' summaries (a script running two) sums them, each runner reading its own stretch
 * of the output; the format is the runner that counted the most tests. Nothing recognised, or a
 * crash before any test ran: `unparsed` (counts all zero and meaningless; never "0 of 0"), with any
 * failure that was named. A runner that said it found no test is its format with a total of 0.
 */
export function parseTestOutput(output: string): ParsedTestOutput {
  const text = normaliseOutput(output);
  const accepted: Array<{ parse: RunnerParser; reading: Reading }> = [];
  for (const parse of PARSERS) {
    const reading = parse(text);
    if (reading && !accepted.some((a) => overlaps(a.reading.summary, reading.summary))) accepted.push({ parse, reading });
  }
  if (accepted.length === 0) return { format: 'unparsed', counts: { ...NO_COUNTS }, tests: [] };
  if (accepted.length === 1) return strip(accepted[0]!.reading);
  accepted.sort((a, b) => a.reading.summary.start - b.reading.summary.start);
  // Each runner re-reads the stretch from the previous runner's summary to the next one's, so that
  // it neither counts nor names the other's lines.
  const parts = accepted.map(({ parse, reading }, i) => {
    const from = i === 0 ? 0 : accepted[i - 1]!.reading.summary.end;
    const to = accepted[i + 1]?.reading.summary.start ?? text.length;
    return parse(text.slice(from, to)) ?? reading;
  });
  return combine(parts);
}

function strip({ summary: _summary, ...parsed }: Reading): ParsedTestOutput {
  return parsed;
}

function combine(parts: readonly Reading[]): ParsedTestOutput {
  const tests = capTests(parts.flatMap((p) => p.tests));
  // One runner whose counts are unknown makes the sum unknown.
  if (parts.some((p) => p.format === 'unparsed')) return { format: 'unparsed', counts: { ...NO_COUNTS }, tests: tests.filter((t) => t.status === 'failed') };
  const counts = parts.reduce((sum, p) => addCounts(sum, p.counts), { ...NO_COUNTS });
  const main = parts.reduce((best, p) => (p.counts.total > best.counts.total ? p : best));
  return { format: main.format, counts, tests };
}
