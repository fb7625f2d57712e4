#!/usr/bin/env node
// Test-output parsing benchmark: the time parseTestOutput (from dist/) takes on what the tester
// reads after each test run. Real outputs (the captured fixtures), a large verbose run, and
// hostile outputs of about 1 MB (the sandbox's output bound is of that order) whose lines are
// built to make loose patterns backtrack: agent-written tests choose what they print, and the
// parsers run on the host.
//
//   node bench/agent-runner/test-output.bench.mjs [--runs 20]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HEADER, row, summary, timed } from './stats.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const RUNS = Number(args.runs);

execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--quiet', 'apps/agent-runner', 'libs/contracts'], { stdio: 'inherit' });
const { parseTestOutput } = await import(join(ROOT, 'dist/apps/agent-runner/src/testing/test-output.parser.js'));

const fixturesDir = join(ROOT, 'apps/agent-runner/src/testing/parsers/fixtures');
const fixtures = readdirSync(fixturesDir, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .flatMap((d) =>
    readdirSync(join(fixturesDir, d.name))
      .filter((f) => f.endsWith('.txt'))
      .map((f) => readFileSync(join(fixturesDir, d.name, f), 'utf8')),
  );

const MB = 1_000_000;
const lines = (line, bytes) => Array.from({ length: Math.ceil(bytes / (line.length + 1)) }, () => line).join('\n');
const long = (prefix, fill) => prefix + fill.repeat(Math.ceil(MB / fill.length));
const CASES = [
  [`all ${fixtures.length} captured outputs, one after another`, () => fixtures.forEach((f) => parseTestOutput(f))],
  [
    'jest --verbose, 20,000 tests (1 MB)',
    (
      (text) => () =>
        parseTestOutput(text)
    )(`${Array.from({ length: 20000 }, (_, i) => `    ✓ case number ${i} of the suite (1 ms)`).join('\n')}\nTests:       20000 passed, 20000 total\n`),
  ],
  [
    'go test -v, 20,000 tests',
    (
      (text) => () =>
        parseTestOutput(text)
    )(`${Array.from({ length: 20000 }, (_, i) => `=== RUN   TestCase${i}\n--- PASS: TestCase${i} (0.00s)`).join('\n')}\nok  \texample.com/pkg\t0.1s\n`),
  ],
  [
    'hostile: one 1 MB line `Tests: 111…` (no `total`)',
    (
      (text) => () =>
        parseTestOutput(text)
    )(long('Test Suites: ', '1')),
  ],
  [
    'hostile: one 1 MB line `ok  \\t111…` (go package)',
    (
      (text) => () =>
        parseTestOutput(text)
    )(long('ok  \t', '1')),
  ],
  [
    'hostile: one 1 MB line `✔ a` + spaces',
    (
      (text) => () =>
        parseTestOutput(text)
    )(long('✔ a', ' ')),
  ],
  [
    'hostile: 1 MB of 1,999-char `Tests: 111…` lines',
    (
      (text) => () =>
        parseTestOutput(text)
    )(lines(`Test Suites: ${'1'.repeat(1986)}\nTests: ${'1'.repeat(1992)}`, MB)),
  ],
  [
    'hostile: 1 MB of 1,999-char `✔ a  …  x` lines',
    (
      (text) => () =>
        parseTestOutput(text)
    )(lines(`✔ a${' '.repeat(1995)}x`, MB)),
  ],
  [
    'hostile: 1 MB of TAP points full of `# `',
    (
      (text) => () =>
        parseTestOutput(text)
    )(`TAP version 13\n1..1\n${lines(`ok 1 ${'# '.repeat(997)}`, MB)}`),
  ],
];

console.log(`runs: ${RUNS}; node ${process.version}\n`);
console.log(HEADER);
for (const [name, run] of CASES) {
  run(); // warm-up: compile the patterns
  const times = [];
  for (let i = 0; i < RUNS; i += 1) times.push((await timed(async () => run())).ms);
  console.log(row(name, summary(times)));
}
