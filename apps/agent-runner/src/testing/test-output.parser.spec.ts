import { parseTestOutput } from './test-output.parser.js';

const NODE_TAP = `TAP version 13
# Subtest: greet says hello
ok 1 - greet says hello
  ---
  duration_ms: 0.70601
  ...
# Subtest: farewell says goodbye
not ok 2 - farewell says goodbye
  ---
  duration_ms: 1.2
  failureType: 'testCodeFailure'
  ...
1..2
# tests 4
# suites 0
# pass 1
# fail 1
# cancelled 0
# skipped 1
# todo 1
# duration_ms 67.176955
`;

const NODE_SPEC = `\u001b[32m✔ greet says hello \u001b[90m(0.43ms)\u001b[39m\u001b[39m
✖ farewell says goodbye (1.1ms)
ℹ tests 3
ℹ suites 0
ℹ pass 1
ℹ fail 1
ℹ cancelled 1
ℹ skipped 0
ℹ todo 0
ℹ duration_ms 44.693453

✖ failing tests:
`;

const JEST = `PASS src/a.test.js
FAIL src/b.test.js
  ● b › fails

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 1 skipped, 1 todo, 3 passed, 6 total
Snapshots:   0 total
Time:        0.512 s
Ran all test suites.
`;

const JEST_ALL_PASSED = `Test Suites: 3 passed, 3 total
Tests:       12 passed, 12 total
Snapshots:   0 total
`;

const VITEST = ` ❯ a.test.mjs (4 tests | 1 failed | 2 skipped) 5ms
⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

 Test Files  1 failed (1)
      Tests  1 failed | 1 passed | 1 skipped | 1 todo (4)
   Start at  09:01:35
   Duration  108ms (transform 43%, import 27%, tests 19%, worker 10%)
`;

const VITEST_PASSED = `\u001b[2m Test Files \u001b[22m \u001b[1m\u001b[32m2 passed\u001b[39m\u001b[22m\u001b[90m (2)\u001b[39m
\u001b[2m      Tests \u001b[22m \u001b[1m\u001b[32m17 passed\u001b[39m\u001b[22m\u001b[90m (17)\u001b[39m
`;

describe('parseTestOutput', () => {
  it('reads node:test TAP summaries', () => {
    expect(parseTestOutput(NODE_TAP)).toMatchObject({ format: 'node', counts: { total: 4, passed: 1, failed: 1, skipped: 2 } });
  });

  it('reads node:test spec summaries, colours and all; cancelled counts as failed', () => {
    expect(parseTestOutput(NODE_SPEC)).toMatchObject({ format: 'node', counts: { total: 3, passed: 1, failed: 2, skipped: 0 } });
  });

  it('takes the last node summary when there are several', () => {
    const twice = NODE_TAP.replace('# tests 4', '# tests 1') + NODE_TAP.replace('# tests 4', '# tests 9').replace('# pass 1', '# pass 7');
    expect(parseTestOutput(twice).counts).toEqual({ total: 9, passed: 7, failed: 1, skipped: 2 });
  });

  it('reads Jest summaries', () => {
    expect(parseTestOutput(JEST)).toMatchObject({ format: 'jest', counts: { total: 6, passed: 3, failed: 1, skipped: 2 } });
    expect(parseTestOutput(JEST_ALL_PASSED)).toMatchObject({ format: 'jest', counts: { total: 12, passed: 12, failed: 0, skipped: 0 } });
  });

  it('reads Vitest summaries, not the test-file line', () => {
    expect(parseTestOutput(VITEST)).toMatchObject({ format: 'vitest', counts: { total: 4, passed: 1, failed: 1, skipped: 2 } });
    expect(parseTestOutput(VITEST_PASSED)).toMatchObject({ format: 'vitest', counts: { total: 17, passed: 17, failed: 0, skipped: 0 } });
  });

  it('gives zero counts for output it does not know', () => {
    expect(parseTestOutput('Ran 3 tests in 0.01s\n\nOK\n')).toEqual({ format: 'unknown', counts: { total: 0, passed: 0, failed: 0, skipped: 0 }, tests: [] });
    expect(parseTestOutput('')).toEqual({ format: 'unknown', counts: { total: 0, passed: 0, failed: 0, skipped: 0 }, tests: [] });
  });

  it('does not mistake prose for a summary', () => {
    expect(parseTestOutput('# tests are flaky here\nTests: none\n').format).toBe('unknown');
  });
});
