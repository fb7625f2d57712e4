import type { SagaSummary } from '../api.client.js';
import { reportLines, type ReportContext } from './fr-report.js';

const saga = (over: Partial<SagaSummary> = {}): SagaSummary => ({
  frId: 'FR-001',
  sagaId: 'FR-001-r1',
  title: 'Add a farewell function',
  state: 'awaiting-merge',
  step: 'merge-r1',
  attempt: 1,
  round: 1,
  prUrl: 'local://example/greeter/pulls/1',
  costUsd: 0.0123,
  traceId: 'a'.repeat(32),
  updatedAt: '2025-01-01T00:00:00.000Z',
  ...over,
});
const ctx: ReportContext = {
  forgeRoot: '/run/forge',
  branch: 'agency/FR-001-add-a-farewell-function',
  base: 'main',
  traceHint: 'npm run agency -- trace FR-001',
  frFile: '/run/vault/10_features/05_in_review/FR-001-farewell.md',
  logsDir: '/run/logs',
};
const labels = (lines: string[]) => lines.slice(1).map((l) => l.slice(3, 18).trim());

describe('the report of an FR that waits for a person', () => {
  it('awaiting merge: the PR, its record, a branch command that runs (the whole branch name), and how to merge', () => {
    const lines = reportLines(saga(), ctx);
    expect(lines[0]).toBe('== FR-001 "Add a farewell function": awaiting-merge');
    expect(labels(lines)).toEqual(['pull request', 'PR record', 'branch', 'merge it', 'trace', 'FR file', 'cost']);
    expect(lines).toContain('   branch         git -C /run/forge/example/greeter.git log --stat main..agency/FR-001-add-a-farewell-function');
    expect(lines).toContain('   PR record      /run/forge/example/greeter.prs/1.json');
    expect(lines).toContain('   merge it       npm run agency -- merge FR-001');
  });

  it('done: says it is merged and is not told to merge it', () => {
    const lines = reportLines(saga({ state: 'done', step: 'done' }), ctx);
    expect(lines.join('\n')).not.toContain('merge FR-001');
    expect(labels(lines)).toContain('merged');
  });

  it('a failed FR: the reason and how to retry it, nothing about merging', () => {
    const lines = reportLines(saga({ state: 'failed', prUrl: undefined, failure: 'TESTS_FAILED: npm test exited 1' }), ctx);
    expect(labels(lines)).toEqual(['trace', 'FR file', 'reason', 'retry it', 'cost']);
    expect(lines).toContain('   retry it       npm run agency -- retry FR-001   (what happened: npm run agency -- logs FR-001)');
  });

  it('a plan waiting for approval: the plan and how to approve or reject it', () => {
    const lines = reportLines(saga({ state: 'awaiting-plan-approval', prUrl: undefined }), { ...ctx, planSummary: 'Add farewell(name) and a test.' });
    expect(lines.slice(1, 3)).toEqual([
      '   plan           Add farewell(name) and a test.',
      '   approve it     npm run agency -- approve FR-001   (or reject FR-001 --comment "...")',
    ]);
  });

  it('names the run directory in each command when the stack does not run on the default one', () => {
    expect(reportLines(saga(), { ...ctx, runDir: '/tmp/run' })).toContain('   merge it       AGENCY_RUN_DIR=/tmp/run npm run agency -- merge FR-001');
  });

  it('a PR on GitHub: no local record nor branch command', () => {
    const lines = reportLines(saga({ prUrl: 'https://github.com/a/b/pull/3' }), ctx);
    expect(labels(lines)).toEqual(['pull request', 'trace', 'FR file', 'cost']);
  });
});
