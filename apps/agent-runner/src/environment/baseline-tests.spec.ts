import type { RepoTargetDto } from '@agency/contracts';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import type { JobWorkspace } from '../git/workspace.service.js';
import type { SandboxExecOptions, SandboxOpenOptions, SandboxResult } from '../sandbox/sandbox.js';
import { BaselineTests, baselineText } from './baseline-tests.js';

const ws = {
  jobId: 'job-1',
  dir: '/w/worktrees/job-1',
  branch: 'agency/FR-1-x',
  baseSha: 'a'.repeat(40),
  mirrorDir: '/w/mirrors/x.git',
  gitDir: '/w/mirrors/x.git/worktrees/job-1',
} as JobWorkspace;
const repo = { name: 'acme/lib', cloneUrl: '/f/lib.git', base: 'main', forge: 'local', testCommand: 'npm test', setupCommand: 'npm ci' } as RepoTargetDto;

function rig(output: string, exitCode: number, config: Partial<AgentRunnerConfig> = {}, tools?: string) {
  const opened: SandboxOpenOptions[] = [];
  const commands: SandboxExecOptions[] = [];
  let discarded = 0;
  const sandbox = {
    open: async (o: SandboxOpenOptions) => {
      opened.push(o);
      return {
        jobId: o.jobId,
        workdir: '/workspace/repo',
        exec: async (e: SandboxExecOptions): Promise<SandboxResult> => {
          commands.push(e);
          // The listing of node_modules/.bin: absent unless the rig has tools.
          if (e.command.startsWith('test -d node_modules/.bin'))
            return { exitCode: tools === undefined ? 1 : 0, timedOut: false, durationMs: 5, output: tools ?? '', outputBytes: 0, truncated: false };
          return { exitCode, timedOut: false, durationMs: 900, output, outputBytes: output.length, truncated: false };
        },
        close: async () => undefined,
      };
    },
  };
  const baseline = new BaselineTests({ TEST_TIMEOUT_SECONDS: 600, ...config } as AgentRunnerConfig, sandbox, {
    discardChanges: async () => void (discarded += 1),
  });
  return { baseline, opened, commands, discarded: () => discarded };
}

const progress = () => undefined;

describe('BaselineTests', () => {
  it('runs the test command once at the base in the sandbox, reads its counts, and discards what it wrote', async () => {
    const r = rig(
      '✔ a (1ms)\n✔ b (1ms)\n✔ c (1ms)\nℹ tests 3\nℹ suites 0\nℹ pass 3\nℹ fail 0\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\nℹ duration_ms 152.19\n',
      0,
    );
    const first = await r.baseline.run(ws, repo, { jobId: 'job-1', progress });
    expect(first).toMatchObject({ command: 'npm test', passed: true, counts: { passed: 3, failed: 0, total: 3 }, tail: '' });
    expect(r.commands.map((c) => c.command)).toEqual(['npm test', 'test -d node_modules/.bin && ls -1 node_modules/.bin']);
    expect(r.commands[0]).toEqual({ command: 'npm test', timeoutMs: 600_000 });
    expect(r.opened[0]).toMatchObject({ workspace: ws.dir, jobId: 'job-1', repo: 'acme/lib' });
    expect(r.discarded()).toBe(1);
    // The same base, test and setup: not run again (a re-driven step, the next job at that base).
    expect(await r.baseline.run(ws, repo, { jobId: 'job-2', progress })).toBe(first);
    expect(r.commands).toHaveLength(2);
    expect(baselineText(first!)).toBe('Before any change, the tests (`npm test`) passed at the base: 3 passed, 0 failed, 0 skipped of 3.');
  });

  it("says what already failed at the base, with the output's end", async () => {
    const r = rig(`${'noise\n'.repeat(2000)}SyntaxError: Cannot use import statement outside a module\n`, 1);
    const b = (await r.baseline.run(ws, repo, { jobId: 'job-1', progress }))!;
    expect(b).toMatchObject({ passed: false, exitCode: 1, format: 'unparsed' });
    expect(b.tail.length).toBeLessThanOrEqual(1500);
    const text = baselineText(b);
    expect(text).toMatch(/^Before any change, the tests \(`npm test`\) already failed at the base \(exit code 1\): those failures are not yours to fix/);
    expect(text).toContain('SyntaxError: Cannot use import statement outside a module');
    // No runner named the failures: nothing to tell a later failure apart by.
    expect(b.failing).toBeUndefined();
  });

  it('keeps the names of the tests that failed at the base when the runner named every failure (the test step compares them)', async () => {
    const out =
      '✔ a (1.1ms)\n✖ b (2.2ms)\n  AssertionError\nℹ tests 2\nℹ suites 0\nℹ pass 1\nℹ fail 1\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\nℹ duration_ms 15.2\n';
    expect((await rig(out, 1).baseline.run(ws, repo, { jobId: 'job-1', progress }))!.failing).toEqual(['b']);
  });

  it('lists what the setup installed in node_modules/.bin, so the model does not npx a tool that is not there (seen in a relay trial: 71 s)', async () => {
    const r = rig('ℹ tests 1\nℹ pass 1\nℹ fail 0\n', 0, {}, 'tsc\nvitest\nbad name; rm -rf /\n');
    const b = (await r.baseline.run(ws, repo, { jobId: 'job-1', progress }))!;
    expect(b.tools).toEqual(['tsc', 'vitest']);
    expect(baselineText(b)).toMatch(/ Installed in node_modules\/\.bin \(npx finds only these, offline\): tsc, vitest\.$/);
    const empty = rig('ℹ tests 1\nℹ pass 1\nℹ fail 0\n', 0, {}, '');
    expect(baselineText((await empty.baseline.run(ws, repo, { jobId: 'job-1', progress }))!)).toMatch(/ Nothing is installed in node_modules\/\.bin\.$/);
  });

  it('does nothing without a test command or when BASELINE_TESTS is false', async () => {
    const off = rig('', 0, { BASELINE_TESTS: false });
    expect(await off.baseline.run(ws, repo, { jobId: 'job-1', progress })).toBeUndefined();
    const none = rig('', 0);
    expect(await none.baseline.run(ws, { ...repo, testCommand: '' }, { jobId: 'job-1', progress })).toBeUndefined();
    expect([...off.commands, ...none.commands]).toEqual([]);
  });

  it('says a repository without tests found none, not "0 passed of 0" (seen in the eval relay run)', async () => {
    const r = rig('ℹ tests 0\nℹ suites 0\nℹ pass 0\nℹ fail 0\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\nℹ duration_ms 40.1\n', 0);
    const b = (await r.baseline.run(ws, repo, { jobId: 'job-1', progress }))!;
    expect(baselineText(b)).toBe('Before any change, the tests (`npm test`) found no test to run at the base.');
  });

  it("stops at a cancel: nothing more is done in the job's worktree (a cancel while the base's tests ran had the worktree written again)", async () => {
    const r = rig('ℹ tests 1\nℹ pass 1\nℹ fail 0\n', 0);
    const controller = new AbortController();
    controller.abort(new Error('job job-1 cancelled: saga cancelled'));
    await expect(r.baseline.run(ws, repo, { jobId: 'job-1', progress, signal: controller.signal })).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(r.discarded()).toBe(0);
  });
});
