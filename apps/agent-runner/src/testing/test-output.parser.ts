import { parseJest, parseMocha, parseNode, parseVitest } from './parsers/js-runners.parser.js';
import { parseGo, parsePytest } from './parsers/other-runners.parser.js';
import { NO_COUNTS, type ParsedTestOutput, type RunnerParser } from './parsers/parse-kit.js';

export type { ParsedTestOutput, TestCase, TestOutputFormat, TestStatus } from './parsers/parse-kit.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** In order of preference when an output holds several (a script running two runners): the first that recognises it answers. */
const PARSERS: RunnerParser[] = [parseNode, parseJest, parseVitest, parseMocha, parsePytest, parseGo];

/**
 * A structured pass/fail report from a test runner's output: node:test (spec and TAP), Jest,
 * Vitest, Mocha, pytest and go test. Counts come from the runner's summary; per-test results
 * from the lines it prints for each test. For anything else the counts are all zero and only
 * the exit code speaks.
 */
export function parseTestOutput(output: string): ParsedTestOutput {
  const text = output.replace(ANSI, '').replace(/\r\n?/g, '\n');
  for (const parse of PARSERS) {
    const parsed = parse(text);
    if (parsed) return parsed;
  }
  return { format: 'unknown', counts: { ...NO_COUNTS }, tests: [] };
}
