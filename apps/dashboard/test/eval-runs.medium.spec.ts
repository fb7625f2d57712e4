import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteFigures, TaskOutcome, type SuiteReport, type TaskResult } from '@agency/eval';
import { tempDir, type TempDir } from '@agency/testing';
import { DashboardConfig } from '../src/dashboard.config.js';
import { evalListPage, evalRunPage } from '../src/eval/eval-page.js';
import { EvalRunsService } from '../src/eval/eval-runs.service.js';

const task = (name: string, outcome: TaskOutcome): TaskResult => ({
  task: name,
  title: name,
  outcome,
  reachedPr: true,
  resolved: outcome === TaskOutcome.Resolved,
  wallMs: 1,
  figures: {
    usage: { coder: { calls: 2, inputTokens: 100, cachedInputTokens: 0, outputTokens: 10, costUsd: 0.5 } },
    costUsd: 0.5,
    steps: [],
    reviewRounds: 1,
    stepFailures: [],
    timeToPrMs: 4000,
  },
});
const report = (suite: string, tasks: TaskResult[]): SuiteReport => ({
  suite,
  startedAt: '2026-01-01T00:00:00Z',
  finishedAt: '2026-01-01T00:10:00Z',
  answers: 'oracle',
  machine: 'm',
  variants: [{ variant: {}, label: 'as configured', figures: suiteFigures(tasks), tasks }],
});

describe('eval runs on the dashboard', () => {
  let dir: TempDir;
  let runs: EvalRunsService;

  beforeAll(() => {
    dir = tempDir('dash-eval-');
    const write = (id: string, r: unknown) => {
      mkdirSync(join(dir.path, id), { recursive: true });
      writeFileSync(join(dir.path, id, 'report.json'), typeof r === 'string' ? r : JSON.stringify(r));
    };
    write('starter-oracle-1', report('starter', [task('a', TaskOutcome.Resolved), task('<b>', TaskOutcome.Unresolved)]));
    write('broken', '{not json');
    mkdirSync(join(dir.path, 'no-report'));
    runs = new EvalRunsService(Object.assign(new DashboardConfig(), { EVAL_DIR: dir.path }));
  });
  afterAll(() => dir?.remove());

  it('lists the runs with a readable report, and reads one by its folder name only', () => {
    const list = runs.list();
    expect(list.map((r) => r.id)).toEqual(['starter-oracle-1']);
    expect(list[0]!.variants[0]!.figures).toMatchObject({ resolved: 1, valid: 2, costPerTaskUsd: 0.5, costPerResolvedUsd: 1 });
    expect(runs.report('starter-oracle-1')?.suite).toBe('starter');
    expect(runs.report('../starter-oracle-1')).toBeUndefined();
    expect(runs.report('broken')).toBeUndefined();
  });

  it('renders the list and a run, escaping what the reports say', () => {
    const list = evalListPage(runs.list(), dir.path);
    expect(list).toContain('<a href="/eval/starter-oracle-1">starter-oracle-1</a>');
    expect(list).toContain('<td>1/2 (50%)</td>');
    const one = evalRunPage('starter-oracle-1', runs.report('starter-oracle-1')!);
    expect(one).toContain('<td>&lt;b&gt;</td><td>unresolved</td>');
    expect(one).not.toContain('<b>');
    expect(evalListPage([], undefined)).toContain('EVAL_DIR is not set');
  });
});
