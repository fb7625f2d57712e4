import { reviewView, testView } from './work.service.js';

describe('the workbench views of stored reports', () => {
  it("shortens the tester's report to what a person reads: outcome, command, counts, failing tests, output", () => {
    const report = {
      passed: false,
      command: 'npm test',
      exitCode: 1,
      timedOut: false,
      durationMs: 1200,
      counts: { total: 3, passed: 2, failed: 1, skipped: 0 },
      tests: [
        { name: 'a', status: 'passed' },
        { name: 'b', status: 'failed' },
      ],
      outputTail: 'not ok 2 - b',
      environment: { big: 'x' },
    };
    expect(testView(report)).toEqual({
      passed: false,
      command: 'npm test',
      exitCode: 1,
      timedOut: false,
      durationMs: 1200,
      counts: { total: 3, passed: 2, failed: 1, skipped: 0 },
      failing: ['b'],
      outputTail: 'not ok 2 - b',
    });
    expect(testView(null)).toEqual({ passed: false, failing: [] });
  });

  it("takes the reviewer's final verdict, the model's summary and the findings it kept", () => {
    const report = {
      verdict: { final: 'request-changes', confidence: 0.8, reason: 'a blocking finding' },
      model: { parsed: { summary: 'Needs a guard.' } },
      findings: {
        kept: [{ file: 'src/a.js', line: 3, severity: 'major', message: 'No guard.', suggestion: 'Add one.', internal: 1 }],
        dropped: [{ file: 'b' }],
      },
    };
    expect(reviewView(report)).toEqual({
      verdict: 'request-changes',
      confidence: 0.8,
      reason: 'a blocking finding',
      summary: 'Needs a guard.',
      findings: [{ file: 'src/a.js', line: 3, severity: 'major', message: 'No guard.', suggestion: 'Add one.' }],
    });
    expect(reviewView({})).toEqual({ findings: [] });
  });
});
