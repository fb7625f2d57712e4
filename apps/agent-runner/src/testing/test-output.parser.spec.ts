import { MAX_TESTS } from './parsers/parse-kit.js';
import { MAX_LINE_CHARS, normaliseOutput, parseTestOutput } from './test-output.parser.js';

const UNPARSED = { format: 'unparsed', counts: { total: 0, passed: 0, failed: 0, skipped: 0 }, tests: [] };

describe('parseTestOutput', () => {
  it('reads uvu, whose summary used to come out as "0 of 0" (issue 11)', () => {
    const uvu = 'tests/a.test.mjs\n• • •   (39 / 39)\n\n  Total:     39\n  Passed:    39\n  Skipped:   0\n  Duration:  12.31ms\n\n';
    expect(parseTestOutput(uvu)).toEqual({ format: 'uvu', counts: { total: 39, passed: 39, failed: 0, skipped: 0 }, tests: [] });
  });

  it('gives "unparsed" for output no parser understands, never a count of 0 of 0', () => {
    expect(parseTestOutput('Ran 3 tests in 0.01s\n\nOK\n')).toEqual(UNPARSED);
    expect(parseTestOutput('')).toEqual(UNPARSED);
    expect(parseTestOutput('sh: 1: jest: not found\n')).toEqual(UNPARSED);
  });

  it('does not mistake prose or other tools for a summary', () => {
    const prose = [
      '# tests are flaky here',
      'Tests: none',
      'ok, moving on',
      'ok 1 thing done',
      '3 passing grades',
      'Total: 3',
      'test result: good',
      'ok  example.com/x is fine',
      'FAIL: lint found 2 problems',
    ].join('\n');
    expect(parseTestOutput(prose).format).toBe('unparsed');
  });

  it('reads "no test" said outright as that runner with a total of 0', () => {
    expect(parseTestOutput('ℹ tests 0\nℹ suites 0\nℹ pass 0\nℹ fail 0\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\nℹ duration_ms 5.1\n')).toMatchObject({
      format: 'node',
      counts: { total: 0 },
    });
    expect(parseTestOutput('No tests found, exiting with code 1\nRun with `--passWithNoTests` to exit with code 0\n')).toMatchObject({
      format: 'jest',
      counts: { total: 0 },
    });
    expect(parseTestOutput('collected 0 items\n\n============================ no tests ran in 0.01s =============================\n')).toMatchObject({
      format: 'pytest',
      counts: { total: 0 },
    });
  });

  it("reads node:test's TAP as node:test, not as plain TAP (both parsers read it; the specific one wins)", () => {
    const tap =
      'TAP version 13\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1.5\n  ...\n1..1\n# tests 1\n# suites 0\n# pass 1\n# fail 0\n# cancelled 0\n# skipped 0\n# todo 0\n# duration_ms 9.1\n';
    expect(parseTestOutput(tap)).toEqual({
      format: 'node',
      counts: { total: 1, passed: 1, failed: 0, skipped: 0 },
      tests: [{ name: 'a', status: 'passed', durationMs: 1.5 }],
    });
  });

  it("does not count what a TAP point's YAML diagnostics quote", () => {
    const tap =
      'TAP version 13\nnot ok 1 - renders\n  ---\n  actual: |-\n    ok 1 - looks like a point\n    not ok 2 - so does this\n  ...\nok 2 - saves\n1..2\n';
    expect(parseTestOutput(tap)).toMatchObject({ format: 'tap', counts: { total: 2, passed: 1, failed: 1, skipped: 0 } });
  });

  it('sums the runs of one runner in one output (a script running it twice)', () => {
    const jest = (n: number) => `PASS ./a.test.js\n\nTest Suites: 1 passed, 1 total\nTests:       ${n} passed, ${n} total\nSnapshots:   0 total\n`;
    expect(parseTestOutput(jest(2) + jest(3)).counts).toEqual({ total: 5, passed: 5, failed: 0, skipped: 0 });
  });

  it('counts a go -json package that failed outside any test (newer go reports build failures as events) as one failure', () => {
    const events = [
      { Action: 'run', Package: 'ex/a', Test: 'TestA' },
      { Action: 'pass', Package: 'ex/a', Test: 'TestA', Elapsed: 0.002 },
      { Action: 'pass', Package: 'ex/a', Elapsed: 0.01 },
      { Action: 'build-output', ImportPath: 'ex/b', Output: 'b.go:3:1: syntax error' },
      { Action: 'fail', Package: 'ex/b', Elapsed: 0, FailedBuild: 'ex/b' },
    ];
    const r = parseTestOutput(events.map((e) => JSON.stringify(e)).join('\n'));
    expect(r).toEqual({
      format: 'go',
      counts: { total: 2, passed: 1, failed: 1, skipped: 0 },
      tests: [
        { name: 'TestA', status: 'passed', file: 'ex/a', durationMs: 2 },
        { name: 'ex/b (failed outside any test)', status: 'failed', file: 'ex/b' },
      ],
    });
  });

  it('cuts over-long lines before any pattern reads them (hostile output: bench/agent-runner/test-output.bench.mjs)', () => {
    const long = `Tests: ${'1'.repeat(MAX_LINE_CHARS * 50)}`;
    expect(normaliseOutput(`a\n${long}\nb`)).toBe(`a\n${long.slice(0, MAX_LINE_CHARS)}\nb`);
    expect(parseTestOutput(`${long}\nok  \t${'1'.repeat(MAX_LINE_CHARS * 50)}\n`)).toEqual(UNPARSED);
    // A summary line stays whole.
    expect(parseTestOutput(`${'x'.repeat(MAX_LINE_CHARS * 2)}\nTests:       3 passed, 3 total\n`).counts.total).toBe(3);
  });

  it('keeps at most MAX_TESTS per-test results, counts untouched', () => {
    const lines = Array.from({ length: MAX_TESTS + 10 }, (_, i) => `ok ${i + 1} - case ${i}`);
    const r = parseTestOutput(`TAP version 14\n1..${MAX_TESTS + 10}\n${lines.join('\n')}\n`);
    expect(r.counts.total).toBe(MAX_TESTS + 10);
    expect(r.tests).toHaveLength(MAX_TESTS);
  });

  it('reads output redrawn with carriage returns and hyperlinks as a log would show it', () => {
    const out = 'Running...\r\x1b[2KTests:       1 passed, 1 total\r\n\x1b]8;;file:///a.js\x07a.js\x1b]8;;\x07\n';
    expect(normaliseOutput(out)).toBe('Running...\nTests:       1 passed, 1 total\na.js\n');
    expect(parseTestOutput(out)).toMatchObject({ format: 'jest', counts: { total: 1, passed: 1 } });
  });
});
