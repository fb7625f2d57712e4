import type { ReviewCommand } from '@agency/contracts';
import { samplePayloads } from '@agency/contracts/testing';
import { createLogger } from '@agency/telemetry';
import { ReviewerConfig } from '../reviewer.config.js';
import type { CommandResult, CommandRun } from './command.runner.js';
import { LintCheck } from './lint.check.js';
import { LintSetupError } from './lint-workspace.client.js';

const TOKEN = `ghp_${'Q1w2E3r4T5'.repeat(3)}abcdef`;

describe('LintCheck', () => {
  let runs: CommandRun[];
  let results: CommandResult[];
  let removed: number;
  let prepareError: Error | undefined;
  const config = Object.assign(new ReviewerConfig(), { LINT_TIMEOUT_MS: 60_000, LINT_OUTPUT_MAX_BYTES: 4000 });

  const check = () =>
    new LintCheck(
      {
        prepare: async () => {
          if (prepareError) throw prepareError;
          return { dir: '/work/lint/1', remove: async () => void (removed += 1) };
        },
      },
      {
        run: async (run: CommandRun) => {
          runs.push(run);
          return results.shift() ?? { exitCode: 0, timedOut: false, durationMs: 300, output: '' };
        },
      },
      { get: async () => new Uint8Array([1]) },
      config,
      createLogger({ service: 'reviewer', level: 'silent' }),
    );

  function cmd(repo: Partial<ReviewCommand['repo']> = {}): Pick<ReviewCommand, 'repo' | 'workspace'> {
    return { repo: { ...samplePayloads.Review.repo, name: 'example/greeter', lintCommand: 'npm run lint', ...repo }, workspace: samplePayloads.Review.workspace };
  }

  beforeEach(() => {
    runs = [];
    results = [];
    removed = 0;
    prepareError = undefined;
  });

  it('passes without running anything when the repository configures no lint', async () => {
    expect(await check().run(cmd({ lintCommand: undefined }))).toEqual({ id: 'lint', passed: true, detail: 'no lint command configured (repos.example/greeter.lint)', findings: [] });
    expect(runs).toEqual([]);
  });

  it('runs setup, then lint, in the checkout, within one time budget, and cleans up', async () => {
    const result = await check().run(cmd({ setupCommand: 'npm ci' }));
    expect(result).toMatchObject({ id: 'lint', passed: true, detail: '`npm run lint` passed (0.3 s)', findings: [] });
    expect(runs.map((r) => [r.command, r.cwd, r.maxOutputBytes])).toEqual([['npm ci', '/work/lint/1', 4000], ['npm run lint', '/work/lint/1', 4000]]);
    expect(runs.every((r) => r.timeoutMs <= 60_000 && r.timeoutMs > 59_000)).toBe(true);
    expect(removed).toBe(1);
  });

  it('blocks on a failing lint, quoting its output with secrets redacted', async () => {
    results = [{ exitCode: 1, timedOut: false, durationMs: 800, output: `src/farewell.js\n  2:1  error  Unexpected var  no-var\nconst t = '${TOKEN}'\n1 problem` }];
    const result = await check().run(cmd());
    expect(result).toMatchObject({ id: 'lint', passed: false, detail: '`npm run lint` failed (exit 1, 0.8 s)' });
    expect(result.findings).toEqual([
      expect.objectContaining({ file: '', severity: 'major', blocking: true, check: 'lint', source: 'check', message: expect.stringContaining('2:1  error  Unexpected var  no-var') }),
    ]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    expect(removed).toBe(1);
  });

  it.each([
    ['the clone or the bundle fails', () => (prepareError = new LintSetupError('cannot clone /nowhere: fatal: repository not found')), 'cannot clone /nowhere'],
    ['setup fails', () => (results = [{ exitCode: 1, timedOut: false, durationMs: 5, output: 'npm ERR! network' }]), 'the setup command `npm ci` failed (exit 1)'],
    ['lint runs out of time', () => (results = [{ exitCode: 0, timedOut: false, durationMs: 5, output: '' }, { exitCode: 137, timedOut: true, durationMs: 60_000, output: 'linting…' }]), 'did not finish within LINT_TIMEOUT_MS (60.0 s)'],
  ])('notes, without blocking, that lint could not run when %s', async (_what, arrange, why) => {
    arrange();
    const result = await check().run(cmd({ setupCommand: 'npm ci' }));
    expect(result).toMatchObject({ id: 'lint', passed: false, detail: expect.stringContaining(why) });
    expect(result.findings).toEqual([expect.objectContaining({ severity: 'minor', blocking: false, message: expect.stringContaining('could not run') })]);
    expect(removed).toBe(prepareError ? 0 : 1);
  });

  it('leaves other failures (a missing artifact, a broken file system) to the transport', async () => {
    prepareError = new Error('EACCES');
    await expect(check().run(cmd())).rejects.toThrow('EACCES');
  });
});
