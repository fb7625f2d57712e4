import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BoundedOutput } from '../../sandbox/bounded-output.js';
import { parseJunitXml, parseTestOutput, type ParsedTestOutput, type TestOutputFormat } from '../test-output.parser.js';

// Real output captured from each runner (fixtures/README.md says which version and command; capture.mjs re-captures).
const dir = fileURLToPath(new URL('./fixtures', import.meta.url));
const read = (fixture: string) => readFileSync(join(dir, fixture), 'utf8');
const fixtures = readdirSync(dir, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .flatMap((d) => readdirSync(join(dir, d.name)).map((f) => `${d.name}/${f}`))
  .sort();
const textFixtures = fixtures.filter((f) => f.endsWith('.txt'));

type Expected = [format: TestOutputFormat, total: number, passed: number, failed: number, skipped: number, failing: string[]];

/**
 * What each fixture reads as. The projects (capture-projects.mjs) have 2 passing tests, 1 failing
 * (`subtracts`), 1 skipped and 1 todo where the runner has todos (pytest: an xfail and a
 * parametrised pair). Differences are the runners' own: tape and node-tap count assertions; Vitest 1
 * verbose does not list skipped tests; uvu has no todo; cargo stops at the first failing binary
 * without --no-fail-fast; jest-junit lists a todo as a plain (passing) test case.
 */
const EXPECTED: Record<string, Expected> = {
  'ava/color-npm-mixed.txt': ['ava', 5, 2, 1, 2, ['math › subtracts']],
  'ava/crash.txt': ['unparsed', 0, 0, 0, 0, ['test/broken.test.mjs (exited)']],
  'ava/mixed.txt': ['ava', 5, 2, 1, 2, ['math › subtracts']],
  'ava/pass.txt': ['ava', 2, 2, 0, 0, []],
  'ava/tap-mixed.txt': ['tap', 5, 2, 1, 2, ['math › subtracts']],
  'cargo/color-mixed.txt': ['cargo', 3, 1, 1, 1, ['tests::subtracts']],
  'cargo/crash.txt': ['unparsed', 0, 0, 0, 0, []],
  'cargo/mixed.txt': ['cargo', 3, 1, 1, 1, ['tests::subtracts']],
  'cargo/no-fail-fast-mixed.txt': ['cargo', 5, 3, 1, 1, ['tests::subtracts']],
  'cargo/none.txt': ['cargo', 0, 0, 0, 0, []],
  'cargo/pass.txt': ['cargo', 2, 2, 0, 0, []],
  'go/crash.txt': ['unparsed', 0, 0, 0, 0, ['example.com/broken [setup failed]']],
  'go/json-crash.txt': ['unparsed', 0, 0, 0, 0, ['example.com/broken [setup failed]']],
  'go/json-mixed.txt': ['go', 6, 3, 2, 1, ['TestTable/negative', 'TestTable']],
  'go/json-none.txt': ['go', 0, 0, 0, 0, []],
  'go/none.txt': ['go', 0, 0, 0, 0, []],
  'go/plain-mixed.txt': ['unparsed', 0, 0, 0, 0, ['TestTable', 'TestTable/negative']],
  'go/plain-pass.txt': ['unparsed', 0, 0, 0, 0, []],
  'go/verbose-mixed.txt': ['go', 6, 3, 2, 1, ['TestTable', 'TestTable/negative']],
  'go/verbose-pass.txt': ['go', 2, 2, 0, 0, []],
  'jest/broken-suite.txt': ['jest', 2, 1, 1, 0, ['./broken.test.js (test suite failed to run)']],
  'jest/color-npm-mixed.txt': ['jest', 5, 2, 1, 2, ['math › subtracts']],
  'jest/crash.txt': ['unparsed', 0, 0, 0, 0, ['./broken.test.js (test suite failed to run)']],
  'jest/default-mixed.txt': ['jest', 5, 2, 1, 2, ['math › subtracts']],
  'jest/none.txt': ['jest', 0, 0, 0, 0, []],
  'jest/pass.txt': ['jest', 2, 2, 0, 0, []],
  'jest/verbose-mixed.txt': ['jest', 5, 2, 1, 2, ['subtracts']],
  // vitest 5 writes the report to .vitest/junit/output.xml and says so: no count in the output.
  'junit/vitest-5-stdout.txt': ['unparsed', 0, 0, 0, 0, []],
  'junit/jest-junit.xml': ['junit', 5, 3, 1, 1, ['math subtracts']],
  'junit/mocha-junit-reporter.xml': ['junit', 5, 2, 1, 2, ['math subtracts']],
  'junit/mocha-xunit.xml': ['junit', 5, 2, 1, 2, ['subtracts']],
  'junit/node-20.xml': ['junit', 5, 2, 1, 2, ['subtracts']],
  'junit/node-20-stdout.txt': ['junit', 5, 2, 1, 2, ['subtracts']],
  'junit/pytest.xml': ['junit', 6, 3, 1, 2, ['test_subtracts']],
  'junit/vitest-5.xml': ['junit', 5, 2, 1, 2, ['math > subtracts']],
  'mixed/jest-then-mocha-npm.txt': ['jest', 2, 2, 0, 0, []],
  'mocha/color-npm-mixed.txt': ['mocha', 5, 2, 1, 2, ['subtracts']],
  'mocha/crash.txt': ['unparsed', 0, 0, 0, 0, []],
  'mocha/none.txt': ['mocha', 0, 0, 0, 0, []],
  'mocha/pass.txt': ['mocha', 1, 1, 0, 0, []],
  'mocha/spec-mixed.txt': ['mocha', 5, 2, 1, 2, ['subtracts']],
  'node/20-crash.txt': ['node', 1, 0, 1, 0, ['/tmp/runners/js/p/node-crash/test/broken.test.mjs']],
  'node/20-dot-mixed.txt': ['unparsed', 0, 0, 0, 0, ['subtracts']],
  'node/20-none.txt': ['node', 0, 0, 0, 0, []],
  'node/20-spec-color-npm.txt': ['node', 5, 2, 1, 2, ['subtracts']],
  'node/20-spec-mixed.txt': ['node', 5, 2, 1, 2, ['subtracts']],
  'node/20-tap-mixed.txt': ['node', 5, 2, 1, 2, ['subtracts']],
  'node/24-crash.txt': ['node', 1, 0, 1, 0, ['test/broken.test.mjs']],
  'node/24-dot-mixed.txt': ['unparsed', 0, 0, 0, 0, ['subtracts']],
  'node/24-pass-npm.txt': ['node', 1, 1, 0, 0, []],
  'node/24-spec-color.txt': ['node', 5, 2, 1, 2, ['subtracts']],
  'node/24-spec-mixed.txt': ['node', 5, 2, 1, 2, ['subtracts']],
  'node/24-tap-mixed.txt': ['node', 5, 2, 1, 2, ['subtracts']],
  'pytest/color-mixed.txt': ['pytest', 6, 3, 1, 2, ['test_subtracts']],
  'pytest/crash.txt': ['unparsed', 0, 0, 0, 0, ['test_broken.py (collection error)']],
  'pytest/default-mixed.txt': ['pytest', 6, 3, 1, 2, ['test_subtracts']],
  'pytest/none.txt': ['pytest', 0, 0, 0, 0, []],
  'pytest/pass.txt': ['pytest', 2, 2, 0, 0, []],
  'pytest/quiet-mixed.txt': ['pytest', 6, 3, 1, 2, ['test_subtracts']],
  'pytest/verbose-mixed.txt': ['pytest', 6, 3, 1, 2, ['test_subtracts']],
  'tap/16-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts > should be equal']],
  'tap/16-pass.txt': ['tap', 2, 2, 0, 0, []],
  'tap/16-tap-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts > should be equal']],
  'tap/18-color-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts > should be equal']],
  'tap/18-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts > should be equal']],
  'tap/21-color-npm-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts > should be equal']],
  'tap/21-crash.txt': ['tap', 1, 0, 1, 0, ['test/broken.test.js']],
  'tap/21-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts > should be equal']],
  'tap/21-pass.txt': ['tap', 2, 2, 0, 0, []],
  'tap/21-tap-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts > should be equal']],
  'tap/perl-mixed.txt': ['tap', 5, 2, 1, 2, ['subtracts']],
  'tap/tape-mixed.txt': ['tap', 4, 2, 1, 1, ['subtracts > should be strictly equal']],
  'tap/tape-pass-npm.txt': ['tap', 2, 2, 0, 0, []],
  'uvu/color-npm-mixed.txt': ['uvu', 4, 2, 1, 1, ['math > subtracts']],
  'uvu/crash.txt': ['unparsed', 0, 0, 0, 0, []],
  'uvu/mixed.txt': ['uvu', 4, 2, 1, 1, ['math > subtracts']],
  'uvu/pass.txt': ['uvu', 2, 2, 0, 0, []],
  'vitest/1-crash.txt': ['unparsed', 0, 0, 0, 0, ['broken.test.mjs (failed to load)']],
  'vitest/1-default-mixed.txt': ['vitest', 5, 2, 1, 2, ['math > subtracts']],
  'vitest/1-verbose-mixed.txt': ['vitest', 5, 2, 1, 2, ['math > subtracts']],
  'vitest/3-default-mixed.txt': ['vitest', 5, 2, 1, 2, ['math > subtracts']],
  'vitest/3-verbose-mixed.txt': ['vitest', 5, 2, 1, 2, ['math > subtracts']],
  'vitest/4-default-mixed.txt': ['vitest', 5, 2, 1, 2, ['subtracts']],
  'vitest/4-verbose-mixed.txt': ['vitest', 5, 2, 1, 2, ['math > subtracts']],
  'vitest/5-broken-suite.txt': ['vitest', 2, 1, 1, 0, ['broken.test.mjs (failed to load)']],
  'vitest/5-color-npm-mixed.txt': ['vitest', 5, 2, 1, 2, ['subtracts']],
  'vitest/5-crash.txt': ['unparsed', 0, 0, 0, 0, ['broken.test.mjs (failed to load)']],
  'vitest/5-default-mixed.txt': ['vitest', 5, 2, 1, 2, ['subtracts']],
  'vitest/5-node20-reporter-crash.txt': ['unparsed', 0, 0, 0, 0, []],
  'vitest/5-none.txt': ['vitest', 0, 0, 0, 0, []],
  'vitest/5-pass.txt': ['vitest', 1, 1, 0, 0, []],
  'vitest/5-verbose-mixed.txt': ['vitest', 5, 2, 1, 2, ['math > subtracts']],
};

const failing = (r: ParsedTestOutput) => r.tests.filter((t) => t.status === 'failed').map((t) => t.name);
const summaryOf = (r: ParsedTestOutput) => [r.format, r.counts.total, r.counts.passed, r.counts.failed, r.counts.skipped, failing(r)];

describe('real runner output (fixtures)', () => {
  it('has an expectation for every fixture, and a fixture for every expectation', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(fixtures);
  });

  it.each(fixtures)('%s', (fixture) => {
    const text = read(fixture);
    const r = fixture.endsWith('.xml') ? parseJunitXml(text) : parseTestOutput(text);
    expect(r && summaryOf(r)).toEqual(EXPECTED[fixture]);
    // Counts add up; "unparsed" never claims a count.
    expect(r!.counts.total).toBe(r!.counts.passed + r!.counts.failed + r!.counts.skipped);
  });
});

// What a project's `npm test` may print before its tests: npm's banner and a lint run (ESLint's stylish format).
const LINT = `
> demo@1.0.0 test
> eslint . && node --test

/repo/src/a.js
  1:7  error  'x' is assigned a value but never used  no-unused-vars
  ✖ 3:1  warning  Unexpected console statement  no-console

✖ 2 problems (1 error, 1 warning)

`;

/** As the sandbox keeps a long output: its start and end around a marker line. */
function cutLikeTheSandbox(text: string, maxBytes: number): string {
  const out = new BoundedOutput(maxBytes);
  out.append(Buffer.from(text));
  return out.toString();
}

/** A long run: thousands of log lines before the runner's own output, so that the sandbox cuts them out. */
function longRun(text: string): string {
  const noise = Array.from({ length: 4000 }, (_, i) => `[app] request ${i} handled in 3ms`).join('\n');
  const cut = cutLikeTheSandbox(`${noise}\n${text}`, Math.ceil((Buffer.byteLength(text) + 2048) / 0.75));
  expect(cut).toMatch(/^\[\.\.\. \d+ bytes of output omitted \.\.\.\]$/m);
  return cut;
}

/**
 * Runners whose counts come from per-test lines (go test, TAP without a summary) cannot count once
 * the middle of the output is gone (nor can AVA, whose summary leaves passes out when a test
 * failed); a TAP trailer (`# tests/# pass/# fail`) is read instead.
 */
const WHEN_CUT: Record<string, Expected> = {
  'ava/tap-mixed.txt': ['tap', 4, 2, 2, 1, ['math › subtracts']],
  'ava/color-npm-mixed.txt': ['unparsed', 0, 0, 0, 0, ['math › subtracts']],
  'ava/mixed.txt': ['unparsed', 0, 0, 0, 0, ['math › subtracts']],
  'go/json-mixed.txt': ['unparsed', 0, 0, 0, 0, ['TestTable/negative', 'TestTable']],
  'go/verbose-mixed.txt': ['unparsed', 0, 0, 0, 0, ['TestTable', 'TestTable/negative']],
  'go/verbose-pass.txt': ['unparsed', 0, 0, 0, 0, []],
  'tap/16-mixed.txt': ['unparsed', 0, 0, 0, 0, ['subtracts > should be equal']],
  'tap/16-pass.txt': ['unparsed', 0, 0, 0, 0, []],
  'tap/16-tap-mixed.txt': ['unparsed', 0, 0, 0, 0, ['subtracts > should be equal']],
  'tap/perl-mixed.txt': ['unparsed', 0, 0, 0, 0, ['subtracts']],
  'tap/tape-mixed.txt': ['tap', 4, 3, 1, 0, ['subtracts > should be strictly equal']],
};

describe('real runner output, as it reaches the tester', () => {
  it.each(textFixtures)('%s with CRLF line ends reads the same', (fixture) => {
    expect(summaryOf(parseTestOutput(read(fixture).replace(/\n/g, '\r\n')))).toEqual(EXPECTED[fixture]);
  });

  it.each(textFixtures)('%s after npm and a lint run reads the same', (fixture) => {
    expect(summaryOf(parseTestOutput(LINT + read(fixture)))).toEqual(EXPECTED[fixture]);
  });

  it.each(textFixtures)('%s at the end of a long output cut by the sandbox: the summary is still read', (fixture) => {
    expect(summaryOf(parseTestOutput(longRun(read(fixture))))).toEqual(WHEN_CUT[fixture] ?? EXPECTED[fixture]);
  });

  it('reads the summary when the middle of the tests themselves is cut away', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `    ✓ case ${i} (1 ms)`).join('\n');
    const text = read('jest/verbose-mixed.txt').replace('    ✓ adds (8 ms)\n', `    ✓ adds (8 ms)\n${many}\n`);
    const r = parseTestOutput(cutLikeTheSandbox(text, 8192));
    expect(r).toMatchObject({ format: 'jest', counts: { total: 5, passed: 2, failed: 1, skipped: 2 } });
    expect(r.tests.length).toBeLessThan(3000);
    expect(failing(r)).toEqual(['subtracts']);
  });
});

describe('outputs holding several runners', () => {
  const sum = (a: Expected, b: Expected): Expected => {
    const [fa, ta, pa, xa, sa, na] = a;
    const [fb, tb, pb, xb, sb, nb] = b;
    return [tb > ta ? fb : fa, ta + tb, pa + pb, xa + xb, sa + sb, [...na, ...nb]];
  };

  it('reads the real `jest && mocha` run as one count of both', () => {
    const r = parseTestOutput(read('mixed/jest-then-mocha-npm.txt'));
    expect(r.counts).toEqual({ total: 2, passed: 2, failed: 0, skipped: 0 });
    expect(r.tests.map((t) => `${t.status} ${t.name}`)).toEqual(['passed greets', 'passed sums']);
  });

  it.each([
    ['jest/default-mixed.txt', 'mocha/spec-mixed.txt'],
    ['pytest/verbose-mixed.txt', 'vitest/3-verbose-mixed.txt'],
    ['cargo/no-fail-fast-mixed.txt', 'go/verbose-mixed.txt'],
    ['node/24-spec-mixed.txt', 'tap/tape-mixed.txt'],
    ['uvu/mixed.txt', 'ava/mixed.txt'],
    ['vitest/5-default-mixed.txt', 'node/20-tap-mixed.txt'],
  ])('sums %s then %s, each runner naming only its own tests; the format is the one with more tests', (a, b) => {
    expect(summaryOf(parseTestOutput(`${read(a)}\n${read(b)}`))).toEqual(sum(EXPECTED[a]!, EXPECTED[b]!));
  });

  it('one run whose counts are unknown makes the whole unknown', () => {
    const r = parseTestOutput(`${read('jest/crash.txt')}\n${read('mocha/pass.txt')}`);
    expect(summaryOf(r)).toEqual(['unparsed', 0, 0, 0, 0, ['./broken.test.js (test suite failed to run)']]);
  });
});
