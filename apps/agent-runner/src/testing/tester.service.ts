import { Inject, Injectable } from '@nestjs/common';
import type { Envelope, TestCommand, TestedEvent } from '@agency/contracts';
import { ArtifactStore, Clock } from '@agency/messaging';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { WorkspaceService } from '../git/workspace.service.js';
import { Sandbox, type SandboxResult } from '../sandbox/sandbox.js';
import { ArtifactKeys } from '../steps/artifact-keys.js';
import { jobIdOf } from '../steps/step-ids.js';
import { parseTestOutput } from './test-output.parser.js';

export const REPORT_TAIL_CHARS = 100_000;
export const EXCERPT_CHARS = 20_000;

/** The last `max` characters, starting at a line when one starts near the cut. */
export function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(-max);
  const nl = cut.indexOf('\n');
  return nl >= 0 && nl < 200 ? cut.slice(nl + 1) : cut;
}

interface CommandRun {
  phase: 'setup' | 'test';
  command: string;
  result: SandboxResult;
}

function describeRun(run: CommandRun, timeoutSeconds: number): string {
  const r = run.result;
  if (r.timedOut) return `[${run.phase} command "${run.command}" timed out after ${timeoutSeconds} s and was killed]`;
  if (r.oomKilled) return `[${run.phase} command "${run.command}" was killed: the sandbox ran out of memory]`;
  return `[${run.phase} command "${run.command}" exited with code ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}]`;
}

/**
 * The tester: runs the repository's setup and test commands in the sandbox at the round's head
 * commit, within one wall-clock limit, and reports counts, output and verdict.
 */
@Injectable()
export class TesterService {
  private readonly timeoutMs: number;

  constructor(
    config: AgentRunnerConfig,
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'openAt'>,
    @Inject(Sandbox) private readonly sandbox: Pick<Sandbox, 'open' | 'kind'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'putJson'>,
    private readonly clock: Clock,
  ) {
    this.timeoutMs = config.TEST_TIMEOUT_SECONDS * 1000;
  }

  async test(env: Envelope<TestCommand>, progress: (message: string) => void = () => undefined): Promise<TestedEvent> {
    const { repo, workspace, round, sandbox } = env.payload;
    const jobId = jobIdOf(env);
    const ws = await this.workspaces.openAt(jobId, repo, workspace);
    const started = this.clock.nowMs();
    const runs: CommandRun[] = [];
    // One sandbox for setup and tests: what the setup installs is there for the tests.
    const session = await this.sandbox.open({ workspace: ws.dir, jobId, repo: repo.name, ...(sandbox ? { limits: sandbox } : {}) });
    try {
      if (repo.setupCommand) {
        progress(`setup: ${repo.setupCommand}`);
        runs.push({ phase: 'setup', command: repo.setupCommand, result: await session.exec({ command: repo.setupCommand, timeoutMs: this.timeoutMs }) });
      }
      const setup = runs[0];
      const setupOk = !setup || (setup.result.exitCode === 0 && !setup.result.timedOut);
      if (setupOk) {
        // Setup and tests share one limit, so the step's length is bounded whatever the split.
        const left = Math.max(1000, this.timeoutMs - (this.clock.nowMs() - started));
        progress(`tests: ${repo.testCommand}`);
        runs.push({ phase: 'test', command: repo.testCommand, result: await session.exec({ command: repo.testCommand, timeoutMs: left }) });
      }
    } finally {
      await session.close();
    }
    const last = runs[runs.length - 1]!;
    const durationMs = Math.max(0, this.clock.nowMs() - started);
    const parsed = last.phase === 'test' ? parseTestOutput(last.result.output) : parseTestOutput('');
    const passed = last.phase === 'test' && last.result.exitCode === 0 && !last.result.timedOut;
    const timedOut = last.result.timedOut;
    const timeoutSeconds = Math.round(this.timeoutMs / 1000);
    const outputTail = tail(last.result.output, REPORT_TAIL_CHARS);
    const report = {
      round,
      headSha: workspace.headSha,
      passed,
      command: repo.testCommand,
      ...(repo.setupCommand ? { setupCommand: repo.setupCommand } : {}),
      failedPhase: passed ? undefined : last.phase,
      exitCode: last.result.exitCode,
      timedOut,
      ...(last.result.oomKilled ? { oomKilled: true } : {}),
      durationMs,
      sandbox: this.sandbox.kind,
      counts: parsed.counts,
      format: parsed.format,
      tests: parsed.tests,
      runs: runs.map((r) => ({ phase: r.phase, command: r.command, exitCode: r.result.exitCode, timedOut: r.result.timedOut, ...(r.result.oomKilled ? { oomKilled: true } : {}), durationMs: r.result.durationMs, outputBytes: r.result.outputBytes, truncated: r.result.truncated })),
      outputTail,
    };
    const ref = await this.artifacts.putJson(ArtifactKeys.testReport(env, round), report);
    const failing = parsed.tests.filter((t) => t.status === 'failed').map((t) => t.name);
    const named = failing.length > 0 ? `\n[failing: ${failing.slice(0, 20).join('; ')}${failing.length > 20 ? `; and ${failing.length - 20} more` : ''}]` : '';
    const failureExcerpt = passed ? '' : tail(`${describeRun(last, timeoutSeconds)}${named}\n${outputTail}`, EXCERPT_CHARS);
    return { round, passed, exitCode: last.result.exitCode, timedOut, counts: parsed.counts, durationMs, report: ref, headSha: workspace.headSha, failureExcerpt };
  }
}
