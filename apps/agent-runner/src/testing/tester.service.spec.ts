import type { Envelope, TestCommand } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { Clock } from '@agency/messaging';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import type { EnvironmentSummary } from '../environment/job-environments.service.js';
import type { JobWorkspace } from '../git/workspace.service.js';
import type { Sandbox, SandboxExecOptions, SandboxOpenOptions, SandboxResult } from '../sandbox/sandbox.js';
import type { BaselineResult } from '../environment/baseline-tests.js';
import type { ParsedTestOutput } from './test-output.parser.js';
import { onlyBaseFailures, tail, TesterService } from './tester.service.js';

const NODE_PASS = '✔ greet says hello (0.4ms)\nℹ tests 2\nℹ suites 0\nℹ pass 2\nℹ fail 0\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\n';
const NODE_FAIL = 'not ok 1 - farewell\n# tests 2\n# pass 1\n# fail 1\n# skipped 0\n';

class FakeClock extends Clock {
  ms = 1_000_000;
  override nowMs(): number {
    return this.ms;
  }
}

class FakeSandbox {
  readonly kind = 'docker' as const;
  runs: Array<SandboxExecOptions & { workspace: string }> = [];
  opened: SandboxOpenOptions[] = [];
  closed = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly results: Array<Partial<SandboxResult> & { takesMs?: number }>,
  ) {}
  async open(options: SandboxOpenOptions) {
    this.opened.push(options);
    return {
      jobId: options.jobId,
      workdir: '/workspace/repo',
      exec: async (exec: SandboxExecOptions): Promise<SandboxResult> => {
        this.runs.push({ ...exec, workspace: options.workspace });
        const r = this.results.shift()!;
        this.clock.ms += r.takesMs ?? 100;
        return { exitCode: 0, timedOut: false, durationMs: r.takesMs ?? 100, output: '', outputBytes: (r.output ?? '').length, truncated: false, ...r };
      },
      close: async () => void (this.closed += 1),
    };
  }
}

/** The job's environment as JobEnvironments would give it: present (from the code step) unless told otherwise. */
class FakeEnvironments {
  calls: Array<{ jobId: string; setupCommand?: string }> = [];
  summary: Partial<EnvironmentSummary> = {};
  async ensure(_ws: JobWorkspace, repo: TestCommand['repo'], options: { jobId: string }): Promise<EnvironmentSummary> {
    this.calls.push({ jobId: options.jobId, ...(repo.setupCommand ? { setupCommand: repo.setupCommand } : {}) });
    return {
      action: repo.setupCommand ? 'present' : 'none',
      ok: true,
      durationMs: 0,
      cached: false,
      paths: [],
      notes: [],
      ...(repo.setupCommand ? { setupCommand: repo.setupCommand } : {}),
      ...this.summary,
    };
  }
}

function setup(results: Array<Partial<SandboxResult> & { takesMs?: number }>, written: Record<string, string> = {}) {
  const clock = new FakeClock();
  const environments = new FakeEnvironments();
  const sandbox = new FakeSandbox(clock, results);
  const opened: string[] = [];
  const ws: JobWorkspace = {
    jobId: 'job-1',
    dir: '/w/job-1',
    branch: 'agency/FR-1-x',
    baseSha: 'b'.repeat(40),
    mirrorDir: '/m.git',
    gitDir: '/m.git/worktrees/job-1',
  };
  const workspaces = {
    async openAt(jobId: string) {
      opened.push(jobId);
      return ws;
    },
  };
  const reports: Array<{ key: string; value: Record<string, unknown> }> = [];
  const artifacts = {
    async putJson(key: string, value: unknown) {
      reports.push({ key, value: value as Record<string, unknown> });
      return { key, size: 1, sha256: 'f'.repeat(64), contentType: 'application/json' };
    },
  };
  const files = { readText: async (_root: string, path: string) => written[path] };
  const tester = new TesterService(
    { TEST_TIMEOUT_SECONDS: 60, LINT_TIMEOUT_SECONDS: 300 } as AgentRunnerConfig,
    workspaces,
    sandbox as unknown as Sandbox,
    artifacts,
    clock,
    environments,
    files,
  );
  return { tester, sandbox, reports, opened, environments };
}

function testEnv(patch: Partial<TestCommand['repo']> = {}): Envelope<TestCommand> {
  const env = sampleEnvelope('Test', { step: 'test-r1' });
  env.payload.repo = { ...env.payload.repo, ...patch };
  return env;
}

describe('TesterService', () => {
  it("prepares the job's environment, runs the tests in the worktree and reports a pass with counts", async () => {
    const { tester, sandbox, reports, opened, environments } = setup([{ output: NODE_PASS, takesMs: 2000 }]);
    const tested = await tester.test(testEnv({ setupCommand: 'npm ci' }));

    expect(opened).toEqual(['job-1']);
    // The environment is the job's (set up once, before the coder's first command): not installed again here.
    expect(environments.calls).toEqual([{ jobId: 'job-1', setupCommand: 'npm ci' }]);
    expect(sandbox.opened).toEqual([{ workspace: '/w/job-1', jobId: 'job-1', repo: 'example/greeter' }]);
    expect(sandbox.closed).toBe(1);
    expect(sandbox.runs.map((r) => [r.command, r.workspace, r.timeoutMs])).toEqual([['npm test', '/w/job-1', 60_000]]);
    expect(tested).toEqual({
      round: 1,
      passed: true,
      exitCode: 0,
      timedOut: false,
      counts: { total: 2, passed: 2, failed: 0, skipped: 0 },
      format: 'node',
      durationMs: 2000,
      report: { key: 'FR-1/saga-1/test-r1.json', size: 1, sha256: 'f'.repeat(64), contentType: 'application/json' },
      headSha: 'c'.repeat(40),
      failureExcerpt: '',
    });
    expect(reports[0]!.key).toBe('FR-1/saga-1/test-r1.json');
    expect(reports[0]!.value).toMatchObject({
      command: 'npm test',
      setupCommand: 'npm ci',
      exitCode: 0,
      timedOut: false,
      durationMs: 2000,
      format: 'node',
      outputTail: NODE_PASS,
      sandbox: 'docker',
      environment: { action: 'present', ok: true },
    });
    expect(reports[0]!.value.tests).toEqual([{ name: 'greet says hello', status: 'passed', durationMs: 0.4 }]);
  });

  it('reports failing tests with the output tail as the excerpt', async () => {
    const { tester } = setup([{ exitCode: 1, output: NODE_FAIL }]);
    const tested = await tester.test(testEnv());
    expect(tested).toMatchObject({ passed: false, exitCode: 1, timedOut: false, counts: { total: 2, passed: 1, failed: 1, skipped: 0 } });
    expect(tested.failureExcerpt).toBe(`[test command "npm test" exited with code 1]\n[failing: farewell]\n${NODE_FAIL}`);
  });

  it("reports a setup that failed on the agent's change as a failed run: tests not run, the setup output is the excerpt", async () => {
    const { tester, sandbox, reports, environments } = setup([]);
    environments.summary = { action: 'setup', ok: false, exitCode: 1, outputTail: 'npm ERR! 404 Not Found - GET http://registry/left-padd\n' };
    const tested = await tester.test(testEnv({ setupCommand: 'npm ci' }));
    expect(sandbox.runs).toHaveLength(0);
    expect(tested).toMatchObject({ passed: false, exitCode: 1, counts: { total: 0, passed: 0, failed: 0, skipped: 0 } });
    expect(tested.failureExcerpt).toBe('[setup command "npm ci" exited with code 1]\nnpm ERR! 404 Not Found - GET http://registry/left-padd\n');
    expect(reports[0]!.value).toMatchObject({ failedPhase: 'setup' });
  });

  it('reports a timeout as failed and timed out, even when the exit code is 0', async () => {
    const { tester } = setup([{ exitCode: 0, timedOut: true, signal: 'SIGTERM', output: 'still waiting...\n', takesMs: 60_000 }]);
    const tested = await tester.test(testEnv());
    expect(tested).toMatchObject({ passed: false, timedOut: true });
    expect(tested.failureExcerpt).toBe('[test command "npm test" timed out after 60 s and was killed]\nstill waiting...\n');
  });

  it('reports a command killed by the memory limit as such', async () => {
    const { tester, reports } = setup([{ exitCode: 137, signal: 'SIGKILL', oomKilled: true, output: 'allocating...\n' }]);
    const tested = await tester.test(testEnv());
    expect(tested).toMatchObject({ passed: false, exitCode: 137, timedOut: false });
    expect(tested.failureExcerpt).toBe('[test command "npm test" was killed: the sandbox ran out of memory]\nallocating...\n');
    expect(reports[0]!.value).toMatchObject({ oomKilled: true });
  });

  it('keeps the excerpt within the contract limit, its verdict line first', async () => {
    const long = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n');
    const { tester } = setup([{ exitCode: 1, output: long }]);
    const tested = await tester.test(testEnv());
    expect(tested.failureExcerpt.length).toBeLessThanOrEqual(20_000);
    expect(tested.failureExcerpt.endsWith('line 4999 xxxxxxxxxxxxxxxxxxxx')).toBe(true);
    // The verdict is kept at the start; the output's beginning is what goes.
    expect(tested.failureExcerpt.startsWith('[test command "npm test" exited with code 1]\nline ')).toBe(true);
    expect(tested.failureExcerpt).not.toContain('line 0 ');
  });
});

describe('TesterService: lint in the sandbox', () => {
  it("runs the repository's lint after the tests in the same session and carries its result to the reviewer", async () => {
    const lintOut = 'src/a.js:1  error  Unexpected var  no-var\n1 problem\n';
    const { tester, sandbox, reports } = setup([{ output: NODE_PASS }, { exitCode: 1, output: lintOut, takesMs: 700 }]);
    const tested = await tester.test(testEnv({ lintCommand: 'npm run lint' }));
    expect(sandbox.opened).toHaveLength(1);
    expect(sandbox.runs.map((r) => [r.command, r.timeoutMs])).toEqual([
      ['npm test', 60_000],
      ['npm run lint', 300_000],
    ]);
    // The tests passed: a failing lint is the reviewer's to judge, not a failed test run.
    expect(tested).toMatchObject({
      passed: true,
      exitCode: 0,
      lint: { command: 'npm run lint', exitCode: 1, timedOut: false, durationMs: 700, outputTail: lintOut },
    });
    expect(reports[0]!.value).toMatchObject({ passed: true, lint: { exitCode: 1, outputTail: lintOut } });
  });

  it('lints after failing tests too, and not at all after a failing setup', async () => {
    const failing = setup([{ exitCode: 1, output: NODE_FAIL }, { output: '0 problems\n' }]);
    expect(await failing.tester.test(testEnv({ lintCommand: 'npm run lint' }))).toMatchObject({ passed: false, exitCode: 1, lint: { exitCode: 0 } });

    const broken = setup([]);
    broken.environments.summary = { action: 'setup', ok: false, exitCode: 127, outputTail: 'sh: 1: pnpm: not found\n' };
    const tested = await broken.tester.test(testEnv({ setupCommand: 'pnpm install', lintCommand: 'npm run lint' }));
    expect(broken.sandbox.runs).toHaveLength(0);
    expect(tested.lint).toBeUndefined();
  });
});

describe('tail', () => {
  it('starts at a line boundary near the cut', () => {
    expect(tail('abc', 10)).toBe('abc');
    expect(tail('first line\nsecond line\nthird', 14)).toBe('third');
    expect(tail('x'.repeat(500), 10)).toBe('x'.repeat(10));
  });

  it('reads the JUnit report the repository names instead of the output, after removing a stale one', async () => {
    const junit =
      '<testsuites tests="3" failures="1"><testsuite name="s" tests="3" failures="1"><testcase name="a"/><testcase name="b"/><testcase name="c"><failure message="boom"/></testcase></testsuite></testsuites>';
    const { tester, sandbox, reports } = setup([{ output: '' }, { exitCode: 1, output: 'a summary no parser knows\n' }], { 'reports/junit.xml': junit });
    const tested = await tester.test(testEnv({ testReport: 'reports/junit.xml' }));
    expect(sandbox.runs.map((r) => r.command)).toEqual(["rm -f -- 'reports/junit.xml'", 'npm test']);
    expect(tested).toMatchObject({ passed: false, format: 'junit', counts: { total: 3, passed: 2, failed: 1, skipped: 0 } });
    expect(reports[0]!.value).toMatchObject({ resultsFrom: 'junit-report' });
    expect(tested.failureExcerpt).toContain('[failing: c]');
  });

  it('falls back to the output when the named report was not written', async () => {
    const { tester, reports } = setup([{ output: '' }, { output: NODE_PASS }]);
    const tested = await tester.test(testEnv({ testReport: 'junit.xml' }));
    expect(tested).toMatchObject({ passed: true, format: 'node', counts: { total: 2, passed: 2 } });
    expect(reports[0]!.value).toMatchObject({ resultsFrom: 'output' });
  });
});

describe('onlyBaseFailures', () => {
  const parsed = (failed: string[], named = failed.length): ParsedTestOutput => ({
    format: 'jest',
    counts: { total: 10, passed: 10 - failed.length, failed: failed.length, skipped: 0 },
    tests: failed.slice(0, named).map((name) => ({ name, status: 'failed' as const })),
  });
  const base = { failing: ['colour: FORCE_COLOR', 'colour: CLICOLOR_FORCE'] } as BaselineResult;

  it('names the failures when every one of them failed at the base, by name', () => {
    expect(onlyBaseFailures(parsed(['colour: FORCE_COLOR']), base)).toEqual({ count: 1, names: ['colour: FORCE_COLOR'] });
  });

  it('says nothing when a failure is new, when the runner did not name every failure, or when the base is not known here', () => {
    expect(onlyBaseFailures(parsed(['colour: FORCE_COLOR', 'new one']), base)).toBeUndefined();
    expect(onlyBaseFailures(parsed(['colour: FORCE_COLOR', 'colour: CLICOLOR_FORCE'], 1), base)).toBeUndefined();
    expect(onlyBaseFailures(parsed(['colour: FORCE_COLOR']), undefined)).toBeUndefined();
    expect(onlyBaseFailures(parsed(['colour: FORCE_COLOR']), {} as BaselineResult)).toBeUndefined();
  });
});
