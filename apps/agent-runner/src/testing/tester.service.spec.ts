import type { Envelope, TestCommand } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { Clock } from '@agency/messaging';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import type { JobWorkspace } from '../git/workspace.service.js';
import type { Sandbox, SandboxExecOptions, SandboxOpenOptions, SandboxResult } from '../sandbox/sandbox.js';
import { tail, TesterService } from './tester.service.js';

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

function setup(results: Array<Partial<SandboxResult> & { takesMs?: number }>) {
  const clock = new FakeClock();
  const sandbox = new FakeSandbox(clock, results);
  const opened: string[] = [];
  const ws: JobWorkspace = { jobId: 'job-1', dir: '/w/job-1', branch: 'agency/FR-1-x', baseSha: 'b'.repeat(40), mirrorDir: '/m.git', gitDir: '/m.git/worktrees/job-1' };
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
  const tester = new TesterService({ TEST_TIMEOUT_SECONDS: 60 } as AgentRunnerConfig, workspaces, sandbox as unknown as Sandbox, artifacts, clock);
  return { tester, sandbox, reports, opened };
}

function testEnv(patch: Partial<TestCommand['repo']> = {}): Envelope<TestCommand> {
  const env = sampleEnvelope('Test', { step: 'test-r1' });
  env.payload.repo = { ...env.payload.repo, ...patch };
  return env;
}

describe('TesterService', () => {
  it('runs setup then tests in the worktree and reports a pass with counts', async () => {
    const { tester, sandbox, reports, opened } = setup([{ output: 'added 0 packages\n', takesMs: 15_000 }, { output: NODE_PASS, takesMs: 2000 }]);
    const tested = await tester.test(testEnv({ setupCommand: 'npm ci' }));

    expect(opened).toEqual(['job-1']);
    // One sandbox session for both commands, with the repository's name for its image.
    expect(sandbox.opened).toEqual([{ workspace: '/w/job-1', jobId: 'job-1', repo: 'example/greeter' }]);
    expect(sandbox.closed).toBe(1);
    expect(sandbox.runs.map((r) => [r.command, r.workspace, r.timeoutMs])).toEqual([
      ['npm ci', '/w/job-1', 60_000],
      // The test command gets what the setup left of the limit.
      ['npm test', '/w/job-1', 45_000],
    ]);
    expect(tested).toEqual({
      round: 1,
      passed: true,
      exitCode: 0,
      timedOut: false,
      counts: { total: 2, passed: 2, failed: 0, skipped: 0 },
      durationMs: 17_000,
      report: { key: 'FR-1/saga-1/test-r1.json', size: 1, sha256: 'f'.repeat(64), contentType: 'application/json' },
      headSha: 'c'.repeat(40),
      failureExcerpt: '',
    });
    expect(reports[0]!.key).toBe('FR-1/saga-1/test-r1.json');
    expect(reports[0]!.value).toMatchObject({ command: 'npm test', setupCommand: 'npm ci', exitCode: 0, timedOut: false, durationMs: 17_000, format: 'node', outputTail: NODE_PASS, sandbox: 'docker' });
    expect(reports[0]!.value.tests).toEqual([{ name: 'greet says hello', status: 'passed', durationMs: 0.4 }]);
  });

  it('reports failing tests with the output tail as the excerpt', async () => {
    const { tester } = setup([{ exitCode: 1, output: NODE_FAIL }]);
    const tested = await tester.test(testEnv());
    expect(tested).toMatchObject({ passed: false, exitCode: 1, timedOut: false, counts: { total: 2, passed: 1, failed: 1, skipped: 0 } });
    expect(tested.failureExcerpt).toBe(`[test command "npm test" exited with code 1]\n[failing: farewell]\n${NODE_FAIL}`);
  });

  it('stops at a failing setup: tests not run, the setup output is the excerpt', async () => {
    const { tester, sandbox, reports } = setup([{ exitCode: 127, output: 'sh: 1: pnpm: not found\n' }]);
    const tested = await tester.test(testEnv({ setupCommand: 'pnpm install' }));
    expect(sandbox.runs).toHaveLength(1);
    expect(tested).toMatchObject({ passed: false, exitCode: 127, counts: { total: 0, passed: 0, failed: 0, skipped: 0 } });
    expect(tested.failureExcerpt).toBe('[setup command "pnpm install" exited with code 127]\nsh: 1: pnpm: not found\n');
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

  it('keeps the excerpt within the contract limit', async () => {
    const long = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n');
    const { tester } = setup([{ exitCode: 1, output: long }]);
    const tested = await tester.test(testEnv());
    expect(tested.failureExcerpt.length).toBeLessThanOrEqual(20_000);
    expect(tested.failureExcerpt.endsWith('line 4999 xxxxxxxxxxxxxxxxxxxx')).toBe(true);
    expect(tested.failureExcerpt.startsWith('line ')).toBe(true);
  });
});

describe('tail', () => {
  it('starts at a line boundary near the cut', () => {
    expect(tail('abc', 10)).toBe('abc');
    expect(tail('first line\nsecond line\nthird', 14)).toBe('third');
    expect(tail('x'.repeat(500), 10)).toBe('x'.repeat(10));
  });
});
