import { Inject, Injectable, Optional } from '@nestjs/common';
import { LINT_OUTPUT_MAX_CHARS, type Envelope, type LintResultDto, type TestCommand, type TestedEvent } from '@agency/contracts';
import { ArtifactStore, Clock } from '@agency/messaging';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { BaselineTests, namedFailures, type BaselineResult } from '../environment/baseline-tests.js';
import { JobEnvironments, type EnvironmentSummary } from '../environment/job-environments.service.js';
import { WorkspaceService } from '../git/workspace.service.js';
import { Sandbox, type SandboxResult } from '../sandbox/sandbox.js';
import { ArtifactKeys } from '../steps/artifact-keys.js';
import { jobIdOf } from '../steps/step-ids.js';
import { WorktreeFiles } from '../files/worktree-files.js';
import { parseJunitXml } from './parsers/junit-xml.parser.js';
import { parseTestOutput, type ParsedTestOutput } from './test-output.parser.js';

/** A JUnit report larger than this is not read (the output's reading stands). */
export const JUNIT_MAX_BYTES = 20_000_000;

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
  phase: 'setup' | 'test' | 'lint';
  command: string;
  result: SandboxResult;
}

function describeRun(run: CommandRun, timeoutSeconds: number): string {
  const r = run.result;
  if (r.timedOut) return `[${run.phase} command "${run.command}" timed out after ${timeoutSeconds} s and was killed]`;
  if (r.oomKilled) return `[${run.phase} command "${run.command}" was killed: the sandbox ran out of memory]`;
  return `[${run.phase} command "${run.command}" exited with code ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}]`;
}

/** A setup that failed on the agent's change (new lock files), reported like a failed test run so the coder sees it. */
function setupRunOf(e: EnvironmentSummary): CommandRun {
  const output = e.outputTail ?? '';
  return {
    phase: 'setup',
    command: e.setupCommand ?? '',
    result: { exitCode: e.exitCode ?? 1, timedOut: false, durationMs: e.durationMs, output, outputBytes: output.length, truncated: false },
  };
}

function lintResultOf(run: CommandRun): LintResultDto {
  return {
    command: run.command.slice(0, 2000),
    exitCode: run.result.exitCode,
    timedOut: run.result.timedOut,
    durationMs: Math.max(0, Math.round(run.result.durationMs)),
    outputTail: tail(run.result.output, LINT_OUTPUT_MAX_CHARS),
  };
}

/**
 * The tester: runs the repository's setup and test commands in the sandbox at the round's head
 * commit, within one wall-clock limit, and reports counts, output and verdict.
 */
@Injectable()
export class TesterService {
  private readonly timeoutMs: number;
  private readonly lintTimeoutMs: number;

  constructor(
    config: AgentRunnerConfig,
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'openAt'>,
    @Inject(Sandbox) private readonly sandbox: Pick<Sandbox, 'open' | 'kind'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'putJson'>,
    private readonly clock: Clock,
    @Inject(JobEnvironments) private readonly environments: Pick<JobEnvironments, 'ensure'>,
    @Inject(WorktreeFiles) private readonly files: Pick<WorktreeFiles, 'readText'>,
    @Optional() @Inject(BaselineTests) private readonly baseline?: Pick<BaselineTests, 'known'>,
  ) {
    this.timeoutMs = config.TEST_TIMEOUT_SECONDS * 1000;
    this.lintTimeoutMs = (config.LINT_TIMEOUT_SECONDS ?? 300) * 1000;
  }

  /** Tests, then lint, in one session of the job's sandbox (no network). */
  private async runInSandbox(env: Envelope<TestCommand>, workspace: string, jobId: string, progress: (message: string) => void): Promise<CommandRun[]> {
    const { repo, sandbox } = env.payload;
    const runs: CommandRun[] = [];
    const session = await this.sandbox.open({ workspace, jobId, repo: repo.name, ...(sandbox ? { limits: sandbox } : {}) });
    try {
      // A report left by an earlier run must not pass for this one's.
      if (repo.testReport) await session.exec({ command: `rm -f -- ${shellQuote(repo.testReport)}`, timeoutMs: 30_000 });
      progress(`tests: ${repo.testCommand}`);
      runs.push({ phase: 'test', command: repo.testCommand, result: await session.exec({ command: repo.testCommand, timeoutMs: this.timeoutMs }) });
      // Lint runs here, in the job's sandbox (no network, no secrets), whatever the tests said:
      // the reviewer only reads the result, so agent code never runs on its host.
      const lint = repo.lintCommand?.trim();
      if (lint) {
        progress(`lint: ${lint}`);
        runs.push({ phase: 'lint', command: lint, result: await session.exec({ command: lint, timeoutMs: this.lintTimeoutMs }) });
      }
    } finally {
      await session.close();
    }
    return runs;
  }

  async test(env: Envelope<TestCommand>, progress: (message: string) => void = () => undefined): Promise<TestedEvent> {
    const { repo, workspace, round, sandbox } = env.payload;
    const jobId = jobIdOf(env);
    const ws = await this.workspaces.openAt(jobId, repo, workspace);
    const started = this.clock.nowMs();
    // The job's environment is normally there from the code step; installed again only when the lock files changed.
    const environment = await this.environments.ensure(ws, repo, { jobId, ...(sandbox ? { limits: sandbox } : {}), progress });
    const runs = environment.ok ? await this.runInSandbox(env, ws.dir, jobId, progress) : [setupRunOf(environment)];
    const lintRun = runs.find((r) => r.phase === 'lint');
    const lint = lintRun ? lintResultOf(lintRun) : undefined;
    const last = runs.filter((r) => r.phase !== 'lint').pop()!;
    const durationMs = Math.max(0, this.clock.nowMs() - started);
    const parsed =
      last.phase === 'test' ? await this.readResults(ws.dir, repo.testReport, last.result.output) : { ...parseTestOutput(''), source: 'output' as const };
    const passed = last.phase === 'test' && last.result.exitCode === 0 && !last.result.timedOut;
    const timedOut = last.result.timedOut;
    const failedAtBase = passed || timedOut || last.phase !== 'test' ? undefined : onlyBaseFailures(parsed, this.baseline?.known(ws, repo));
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
      resultsFrom: parsed.source,
      tests: parsed.tests,
      runs: runs.map((r) => ({
        phase: r.phase,
        command: r.command,
        exitCode: r.result.exitCode,
        timedOut: r.result.timedOut,
        ...(r.result.oomKilled ? { oomKilled: true } : {}),
        durationMs: r.result.durationMs,
        outputBytes: r.result.outputBytes,
        truncated: r.result.truncated,
      })),
      outputTail,
      environment,
      ...(lint ? { lint } : {}),
      ...(failedAtBase ? { failedAtBase } : {}),
    };
    const ref = await this.artifacts.putJson(ArtifactKeys.testReport(env, round), report);
    const failing = parsed.tests.filter((t) => t.status === 'failed').map((t) => t.name);
    const named = failing.length > 0 ? `\n[failing: ${failing.slice(0, 20).join('; ')}${failing.length > 20 ? `; and ${failing.length - 20} more` : ''}]` : '';
    // The verdict line (exit code, time-out) stays whatever the output's length: cut, it left the coder only the output's end.
    const verdict = `${describeRun(last, timeoutSeconds)}${named}`.slice(0, EXCERPT_CHARS / 4);
    const failureExcerpt = passed ? '' : `${verdict}\n${tail(outputTail, EXCERPT_CHARS - verdict.length - 1)}`;
    return {
      round,
      passed,
      exitCode: last.result.exitCode,
      timedOut,
      counts: parsed.counts,
      format: parsed.format,
      durationMs,
      report: ref,
      headSha: workspace.headSha,
      failureExcerpt,
      ...(lint ? { lint } : {}),
      ...(failedAtBase ? { failedAtBase } : {}),
    };
  }

  /**
   * The run's results: from the repository's JUnit report when it names one and the run wrote it
   * (read through the confined file access, bounded), else from the output.
   */
  private async readResults(worktree: string, report: string | undefined, output: string): Promise<ParsedTestOutput & { source: 'junit-report' | 'output' }> {
    if (report) {
      const xml = await this.files.readText(worktree, report, JUNIT_MAX_BYTES).catch(() => undefined);
      const fromReport = xml ? parseJunitXml(xml) : undefined;
      if (fromReport) return { ...fromReport, source: 'junit-report' };
    }
    return { ...parseTestOutput(output), source: 'output' };
  }
}

/**
 * The run's failures when every one of them (by name) already failed at the job's base, as this
 * runner's tests at the base found (BaselineTests); undefined when any is new, when a runner did
 * not name every failure, or when the base's result is not known here (a restarted runner): the
 * failure then counts as the change's, as before.
 */
export function onlyBaseFailures(parsed: ParsedTestOutput, base: BaselineResult | undefined): { count: number; names: string[] } | undefined {
  const failing = namedFailures(parsed);
  if (!failing || !base?.failing) return undefined;
  const before = new Set(base.failing);
  return failing.every((name) => before.has(name)) ? { count: failing.length, names: failing.slice(0, 50).map((n) => n.slice(0, 300)) } : undefined;
}

/** A word for sh -c: single-quoted, any single quote closed and escaped. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}
