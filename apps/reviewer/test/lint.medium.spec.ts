import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { samplePayloads } from '@agency/contracts/testing';
import { createLogger } from '@agency/telemetry';
import { tempDir, type TempDir } from '@agency/testing';
import { CommandRunner } from '../src/lint/command.runner.js';
import { LintCheck } from '../src/lint/lint.check.js';
import { LintWorkspaceClient } from '../src/lint/lint-workspace.client.js';
import { ReviewerConfig } from '../src/reviewer.config.js';
import { createLintRepo, type LintRepo } from './support/lint-repo.js';

describe('the lint check on real git and a real shell', () => {
  let dir: TempDir;
  let repo: LintRepo;
  let config: ReviewerConfig;
  let runner: CommandRunner;

  beforeAll(() => {
    dir = tempDir('reviewer-lint-');
    repo = createLintRepo(dir.path);
    config = Object.assign(new ReviewerConfig(), { WORK_DIR: join(dir.path, 'work'), LINT_TIMEOUT_MS: 20_000, LINT_OUTPUT_MAX_BYTES: 4000, GIT_TIMEOUT_MS: 20_000 });
    runner = new CommandRunner();
  });

  afterAll(() => {
    runner.onApplicationShutdown();
    dir.remove();
  });

  function check(bundle: Buffer): LintCheck {
    return new LintCheck(new LintWorkspaceClient(config), runner, { get: async () => new Uint8Array(bundle) }, config, createLogger({ service: 'reviewer', level: 'silent' }));
  }

  function cmd(branch: string, headSha: string, lintCommand: string, setupCommand?: string) {
    return {
      repo: { ...samplePayloads.Review.repo, name: 'example/lint', cloneUrl: repo.bare, lintCommand, ...(setupCommand ? { setupCommand } : {}) },
      workspace: { ...samplePayloads.Review.workspace, branch, baseSha: repo.baseSha, headSha },
    };
  }

  const lintDirs = () => (existsSync(join(config.WORK_DIR, 'lint')) ? readdirSync(join(config.WORK_DIR, 'lint')) : []);

  it('blocks a change the repository’s linter rejects, quoting where', async () => {
    const { headSha, bundle } = repo.change('agency/FR-1-var', { 'src/farewell.js': 'var farewell = (n) => `Goodbye, ${n}!`;\nexport { farewell };\n' });
    const result = await check(bundle).run(cmd('agency/FR-1-var', headSha, 'node lint.mjs', 'test -f lint.mjs'));
    expect(result).toMatchObject({ id: 'lint', passed: false, detail: expect.stringMatching(/^`node lint.mjs` failed \(exit 1, /) });
    expect(result.findings).toEqual([expect.objectContaining({ blocking: true, severity: 'major', message: expect.stringContaining('src/farewell.js:1  error  Unexpected var  no-var') })]);
    expect(lintDirs()).toEqual([]);
  });

  it('passes a clean change, linting the change itself and not the base', async () => {
    const { headSha, bundle } = repo.change('agency/FR-2-clean', { 'src/farewell.js': 'export const farewell = (n) => `Goodbye, ${n}!`;\n', 'marker.txt': 'from the change\n' });
    const result = await check(bundle).run(cmd('agency/FR-2-clean', headSha, 'test -f marker.txt && node lint.mjs'));
    expect(result).toMatchObject({ id: 'lint', passed: true, findings: [], output: expect.stringContaining('0 problem(s)') });
    expect(lintDirs()).toEqual([]);
  });

  it('kills a lint that runs past the limit and only notes it', async () => {
    const { headSha, bundle } = repo.change('agency/FR-3-slow', { 'src/x.js': 'export const x = 1;\n' });
    const slow = new LintCheck(new LintWorkspaceClient(config), runner, { get: async () => new Uint8Array(bundle) }, Object.assign(new ReviewerConfig(), { ...config, LINT_TIMEOUT_MS: 1000 }), createLogger({ service: 'reviewer', level: 'silent' }));
    const started = Date.now();
    const result = await slow.run(cmd('agency/FR-3-slow', headSha, 'sleep 30'));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.findings).toEqual([expect.objectContaining({ blocking: false, message: expect.stringContaining('did not finish within LINT_TIMEOUT_MS') })]);
  });

  it('notes, without blocking, a repository it cannot clone or a bundle that does not fit', async () => {
    const { headSha, bundle } = repo.change('agency/FR-4-x', { 'src/y.js': 'export const y = 1;\n' });
    const missing = await check(bundle).run({ ...cmd('agency/FR-4-x', headSha, 'node lint.mjs'), repo: { ...cmd('agency/FR-4-x', headSha, 'node lint.mjs').repo, cloneUrl: join(dir.path, 'nowhere.git') } });
    expect(missing.findings).toEqual([expect.objectContaining({ blocking: false, message: expect.stringContaining('cannot clone') })]);
    const wrongHead = await check(bundle).run(cmd('agency/FR-4-x', 'f'.repeat(40), 'node lint.mjs'));
    expect(wrongHead.findings).toEqual([expect.objectContaining({ blocking: false, message: expect.stringContaining(`has no head ${'f'.repeat(40)}`) })]);
    expect(lintDirs()).toEqual([]);
  });

  it('gives the command none of the reviewer’s secrets', async () => {
    process.env.LLM_GATEWAY_API_KEY = 'agk_secret_for_this_test';
    try {
      const { headSha, bundle } = repo.change('agency/FR-5-env', { 'src/z.js': 'export const z = 1;\n' });
      const result = await check(bundle).run(cmd('agency/FR-5-env', headSha, 'env; exit 3'));
      expect(result.output).toContain('CI=true');
      expect(result.output).not.toContain('agk_secret_for_this_test');
    } finally {
      delete process.env.LLM_GATEWAY_API_KEY;
    }
  });
});
