import { parseTestOutput } from '../test-output.parser.js';

// Captured from node 24 (`node --test`, spec is the default even when piped).
const NODE_SPEC = `▶ suite
  ✔ inner ok (0.455795ms)
  ✖ inner bad (0.467612ms)
✖ suite (2.227496ms)
✔ top ok (0.068633ms)
﹣ skipped (0.926031ms) # SKIP
✔ todo one (0.076575ms) # TODO
ℹ tests 5
ℹ suites 1
ℹ pass 2
ℹ fail 1
ℹ cancelled 0
ℹ skipped 1
ℹ todo 1
ℹ duration_ms 84.705313

✖ failing tests:

test at test/a.test.js:3:55
✖ inner bad (0.467612ms)
  AssertionError [ERR_ASSERTION]: 1 == 2
`;

// `node --test --test-reporter=tap`, diagnostics trimmed.
const NODE_TAP = `TAP version 13
# Subtest: suite
    # Subtest: inner ok
    ok 1 - inner ok
    # Subtest: inner bad
    not ok 2 - inner bad
    1..2
not ok 1 - suite
  ---
  type: 'suite'
  ...
# Subtest: top ok
ok 2 - top ok
ok 3 - skipped # SKIP
ok 4 - todo one # TODO
1..4
# tests 5
# suites 1
# pass 2
# fail 1
# cancelled 0
# skipped 1
# todo 1
`;

const JEST_VERBOSE = `PASS src/sum.test.js
  sum
    ✓ adds (3 ms)
    ○ skipped negative numbers
FAIL src/greet.test.js
  greet
    ✓ says hello (1 ms)
    ✕ says goodbye (4 ms)
    ✎ todo shouts

  ● greet › says goodbye

    expect(received).toBe(expected) // Object.is equality

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 1 skipped, 1 todo, 2 passed, 5 total
Snapshots:   0 total
Time:        0.61 s
`;

const JEST_PLAIN = `FAIL src/greet.test.js
  ● greet › says goodbye

    expect(received).toBe(expected)

PASS src/sum.test.js

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 4 passed, 5 total
`;

// Captured from vitest 5 (default reporter, not a TTY), colours removed by the parser.
const VITEST_TREE = ` RUN  v5.1.1 /tmp/vt
 \u001b[31m❯\u001b[39m a.test.mjs (5 tests | 1 failed | 1 skipped | 1 todo) 10ms
   ❯ math (4)
     \u001b[32m✓\u001b[39m adds\u001b[32m 2ms\u001b[39m
     × fails 7ms
     ↓ skipped
     □ later
   ✓ top level 0ms
 ✓ b.test.mjs (3 tests) 4ms
⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  a.test.mjs > math > fails
AssertionError: expected 1 to be 2

 Test Files  1 failed | 1 passed (2)
      Tests  1 failed | 5 passed | 1 skipped | 1 todo (8)
`;

const VITEST_VERBOSE = ` ✓ a.test.mjs > math > adds 1ms
 × a.test.mjs > math > fails 3ms
   → expected 1 to be 2 // Object.is equality
 ↓ a.test.mjs > math > skipped
 ✓ a.test.mjs > top level 0ms

 Test Files  1 failed (1)
      Tests  1 failed | 2 passed | 1 skipped (4)
`;

const MOCHA = `

  greet
    ✔ says hello
    ✔ is slow (52ms)
    1) says goodbye
    - shouts


  2 passing (60ms)
  1 pending
  1 failing

  1) greet
       says goodbye:
     AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
`;

// Captured from pytest 8 (-v), plus its short summary.
const PYTEST_VERBOSE = `============================= test session starts ==============================
collected 6 items

test_x.py::test_ok PASSED                                                [ 16%]
test_x.py::test_bad FAILED                                               [ 33%]
test_x.py::test_skip SKIPPED (no)                                        [ 50%]
test_x.py::test_xf XFAIL                                                 [ 66%]
test_x.py::test_param[1] PASSED                                          [ 83%]
test_x.py::test_param[2] PASSED                                          [100%]

=========================== short test summary info ============================
FAILED test_x.py::test_bad - assert 1 == 2
============== 1 failed, 3 passed, 1 skipped, 1 xfailed in 0.93s ===============
`;

const PYTEST_QUIET = `..F
=========================== short test summary info ============================
FAILED tests/test_api.py::test_delete - KeyError: 'id'
ERROR tests/test_db.py::test_connect - ConnectionError
==================== 1 failed, 2 passed, 1 error in 0.12s =====================
`;

const GO_VERBOSE = `=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestTable
=== RUN   TestTable/zero
=== RUN   TestTable/negative
    table_test.go:21: got 1, want -1
--- FAIL: TestTable (0.00s)
    --- PASS: TestTable/zero (0.00s)
    --- FAIL: TestTable/negative (0.00s)
=== RUN   TestLater
    later_test.go:5: not yet
--- SKIP: TestLater (0.00s)
FAIL
FAIL\texample.com/calc\t0.004s
ok  \texample.com/util\t0.002s
FAIL
`;

describe('per-test results', () => {
  it('node spec: leaves only, up to the summary, with durations', () => {
    const r = parseTestOutput(NODE_SPEC);
    expect(r.format).toBe('node');
    expect(r.counts).toEqual({ total: 5, passed: 2, failed: 1, skipped: 2 });
    expect(r.tests.map((t) => `${t.status} ${t.name}`)).toEqual(['passed inner ok', 'failed inner bad', 'passed top ok', 'skipped skipped', 'skipped todo one']);
    expect(r.tests[0]!.durationMs).toBeCloseTo(0.456, 2);
  });

  it('node TAP: nested subtests, SKIP and TODO directives', () => {
    const r = parseTestOutput(NODE_TAP);
    expect(r.tests.map((t) => `${t.status} ${t.name}`)).toEqual(['passed inner ok', 'failed inner bad', 'passed top ok', 'skipped skipped', 'skipped todo one']);
  });

  it('jest --verbose: every test with its file', () => {
    const r = parseTestOutput(JEST_VERBOSE);
    expect(r.format).toBe('jest');
    expect(r.counts).toEqual({ total: 5, passed: 2, failed: 1, skipped: 2 });
    expect(r.tests).toEqual([
      { name: 'adds', status: 'passed', file: 'src/sum.test.js', durationMs: 3 },
      { name: 'negative numbers', status: 'skipped', file: 'src/sum.test.js' },
      { name: 'says hello', status: 'passed', file: 'src/greet.test.js', durationMs: 1 },
      { name: 'says goodbye', status: 'failed', file: 'src/greet.test.js', durationMs: 4 },
      { name: 'shouts', status: 'skipped', file: 'src/greet.test.js' },
    ]);
  });

  it('jest default reporter: the failures by their full name', () => {
    const r = parseTestOutput(JEST_PLAIN);
    expect(r.counts).toEqual({ total: 5, passed: 4, failed: 1, skipped: 0 });
    expect(r.tests).toEqual([{ name: 'greet › says goodbye', status: 'failed', file: 'src/greet.test.js' }]);
  });

  it('vitest tree reporter: tests, not files or suites', () => {
    const r = parseTestOutput(VITEST_TREE);
    expect(r.format).toBe('vitest');
    expect(r.counts).toEqual({ total: 8, passed: 5, failed: 1, skipped: 2 });
    expect(r.tests.map((t) => `${t.status} ${t.name}`)).toEqual(['passed adds', 'failed fails', 'skipped skipped', 'skipped later', 'passed top level']);
  });

  it('vitest verbose reporter: file and name apart', () => {
    const r = parseTestOutput(VITEST_VERBOSE);
    expect(r.tests).toEqual([
      { name: 'math > adds', file: 'a.test.mjs', status: 'passed', durationMs: 1 },
      { name: 'math > fails', file: 'a.test.mjs', status: 'failed', durationMs: 3 },
      { name: 'math > skipped', file: 'a.test.mjs', status: 'skipped' },
      { name: 'top level', file: 'a.test.mjs', status: 'passed', durationMs: 0 },
    ]);
  });

  it('mocha spec reporter: summary and tests before it', () => {
    const r = parseTestOutput(MOCHA);
    expect(r.format).toBe('mocha');
    expect(r.counts).toEqual({ total: 4, passed: 2, failed: 1, skipped: 1 });
    expect(r.tests).toEqual([
      { name: 'says hello', status: 'passed' },
      { name: 'is slow', status: 'passed', durationMs: 52 },
      { name: 'says goodbye', status: 'failed' },
      { name: 'shouts', status: 'skipped' },
    ]);
  });

  it('pytest -v: every test; xfail counts as skipped', () => {
    const r = parseTestOutput(PYTEST_VERBOSE);
    expect(r.format).toBe('pytest');
    expect(r.counts).toEqual({ total: 6, passed: 3, failed: 1, skipped: 2 });
    expect(r.tests.map((t) => `${t.status} ${t.file}::${t.name}`)).toEqual([
      'passed test_x.py::test_ok',
      'failed test_x.py::test_bad',
      'skipped test_x.py::test_skip',
      'skipped test_x.py::test_xf',
      'passed test_x.py::test_param[1]',
      'passed test_x.py::test_param[2]',
    ]);
  });

  it('pytest quiet: failures and errors from the short summary; an error is a failure', () => {
    const r = parseTestOutput(PYTEST_QUIET);
    expect(r.counts).toEqual({ total: 4, passed: 2, failed: 2, skipped: 0 });
    expect(r.tests).toEqual([
      { name: 'test_delete', file: 'tests/test_api.py', status: 'failed' },
      { name: 'test_connect', file: 'tests/test_db.py', status: 'failed' },
    ]);
  });

  it('go test -v: tests and subtests with their package', () => {
    const r = parseTestOutput(GO_VERBOSE);
    expect(r.format).toBe('go');
    expect(r.counts).toEqual({ total: 5, passed: 2, failed: 2, skipped: 1 });
    expect(r.tests.map((t) => `${t.status} ${t.name} ${t.file}`)).toEqual([
      'passed TestAdd example.com/calc',
      'failed TestTable example.com/calc',
      'passed TestTable/zero example.com/calc',
      'failed TestTable/negative example.com/calc',
      'skipped TestLater example.com/calc',
    ]);
  });

  it('go test without -v: only what failed, still recognised as go', () => {
    const r = parseTestOutput('ok  \texample.com/util\t0.002s\nok  \texample.com/calc\t(cached)\n');
    expect(r).toEqual({ format: 'go', counts: { total: 0, passed: 0, failed: 0, skipped: 0 }, tests: [] });
  });
});
