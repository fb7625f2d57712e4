import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFreePortBase } from '@agency/stack';
import { tempDir, type TempDir } from '@agency/testing';
import { FailureCode } from '../src/failure-code.js';
import { TaskOutcome, type SuiteReport } from '../src/report.js';
import { ScriptedAnswers } from '../src/scripted-answers.js';
import { runSuite } from '../src/suite-runner.js';

const root = join(import.meta.dirname, '..', '..', '..');
const fixture = join(root, 'e2e', 'fixtures', 'eval-suite', 'slug-dashes');

// A task whose run fails must say so, by code, in both reports: the scripted coder finishes
// without a change (the pipeline fails it with EMPTY_CHANGE in code-r1), and a task whose own
// setup fails at the base never gets a stack. One real stack, the real pipeline, Docker.
describe('a failed task in the report', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = tempDir('eval-failed-');
    const suite = join(dir.path, 'suite');
    cpSync(fixture, join(suite, 'empty-answer'), { recursive: true });
    cpSync(fixture, join(suite, 'broken-setup'), { recursive: true });
    const task = readFileSync(join(fixture, 'task.yaml'), 'utf8');
    writeFileSync(join(suite, 'broken-setup', 'task.yaml'), `${task.trimEnd()}\nsetup: echo no such installer >&2; exit 3\n`);
    writeFileSync(join(suite, 'suite.yaml'), 'name: failures\ntasks: [empty-answer, broken-setup]\n');
  });
  afterAll(() => dir?.remove());

  it('has reached-PR false, resolved false and the failure code in report.json and report.md', async () => {
    const out = join(dir.path, 'out');
    await runSuite({
      suiteDir: join(dir.path, 'suite'),
      outDir: out,
      rootDir: root,
      configVault: join(root, 'examples', 'vault'),
      variants: [{}],
      answers: ScriptedAnswers.Empty,
      concurrency: 1,
      portBase: await randomFreePortBase(),
      timeoutMs: 150_000,
    });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as SuiteReport;
    const [empty, broken] = report.variants[0]!.tasks;
    expect(empty).toMatchObject({
      task: 'empty-answer',
      outcome: TaskOutcome.NoPr,
      reachedPr: false,
      resolved: false,
      state: 'failed',
      failureCode: FailureCode.CodeFailed,
      pipelineCode: 'EMPTY_CHANGE',
    });
    expect(empty!.failure).toMatch(/^EMPTY_CHANGE: /);
    expect(empty!.hidden).toBeUndefined();
    // The run happened: the planner and the coder were called and cost what they cost.
    expect(empty!.figures!.usage.coder!.calls).toBe(1);
    expect(empty!.figures!.costUsd).toBeCloseTo(empty!.sagaCostUsd!, 9);
    expect(broken).toMatchObject({
      task: 'broken-setup',
      outcome: TaskOutcome.HarnessError,
      reachedPr: false,
      resolved: false,
      failureCode: FailureCode.SetupFailed,
    });
    expect(broken!.failure).toContain('no such installer');
    expect(report.variants[0]!.figures).toMatchObject({ tasks: 2, valid: 2, reachedPr: 0, resolved: 0, resolvedRate: 0 });
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/^\| empty-answer \| no-pr \| no \| no \| .* \| CODE_FAILED \(EMPTY_CHANGE\) \|$/m);
    expect(md).toMatch(/^\| broken-setup \| harness-error \| no \| no \| .* \| SETUP_FAILED \|$/m);
  }, 240_000);
});
