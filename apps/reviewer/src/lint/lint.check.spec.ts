import type { LintResultDto, ReviewCommand } from '@agency/contracts';
import { samplePayloads } from '@agency/contracts/testing';
import { LintCheck } from './lint.check.js';

const TOKEN = `ghp_${'Q1w2E3r4T5'.repeat(3)}abcdef`;

function cmd(lint?: Partial<LintResultDto>, lintCommand: string | null = 'npm run lint'): Pick<ReviewCommand, 'repo' | 'tests'> {
  const result = lint ? { command: 'npm run lint', exitCode: 0, timedOut: false, durationMs: 300, outputTail: '', ...lint } : undefined;
  return {
    repo: { ...samplePayloads.Review.repo, name: 'example/greeter', ...(lintCommand ? { lintCommand } : { lintCommand: undefined }) },
    tests: { ...samplePayloads.Review.tests, ...(result ? { lint: result } : {}) },
  };
}

describe('LintCheck', () => {
  const check = new LintCheck();

  it('does not block when the repository configures no lint, and says it did not run', () => {
    expect(check.run(cmd(undefined, null))).toEqual({
      id: 'lint',
      passed: true,
      notRun: true,
      detail: 'no lint command configured (repos.example/greeter.lint)',
      findings: [],
    });
  });

  it('passes a lint the test step ran cleanly', () => {
    expect(check.run(cmd({ outputTail: '0 problems\n' }))).toEqual({
      id: 'lint',
      passed: true,
      detail: '`npm run lint` passed (0.3 s)',
      findings: [],
      output: '0 problems\n',
    });
  });

  it('blocks on a failing lint, quoting its output with secrets redacted', () => {
    const result = check.run(
      cmd({ exitCode: 1, durationMs: 800, outputTail: `src/farewell.js\n  2:1  error  Unexpected var  no-var\nconst t = '${TOKEN}'\n1 problem` }),
    );
    expect(result).toMatchObject({ id: 'lint', passed: false, detail: '`npm run lint` failed (exit 1, 0.8 s)' });
    expect(result.findings).toEqual([
      expect.objectContaining({
        file: '',
        severity: 'major',
        blocking: true,
        check: 'lint',
        source: 'check',
        message: expect.stringContaining('2:1  error  Unexpected var  no-var'),
      }),
    ]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('only notes a lint that ran out of time', () => {
    const result = check.run(cmd({ exitCode: 143, timedOut: true, durationMs: 300_000, outputTail: 'linting…' }));
    expect(result).toMatchObject({ passed: false, detail: expect.stringContaining('ran out of time') });
    expect(result.findings).toEqual([
      expect.objectContaining({ severity: 'minor', blocking: false, message: expect.stringContaining('LINT_TIMEOUT_SECONDS') }),
    ]);
  });

  it('only notes a configured lint the test step did not report', () => {
    const result = check.run(cmd(undefined));
    expect(result).toMatchObject({ passed: false, detail: expect.stringContaining('lint did not run') });
    expect(result.findings).toEqual([expect.objectContaining({ severity: 'minor', blocking: false })]);
  });
});
