import { Inject, Injectable } from '@nestjs/common';
import type { RepoTargetDto, TestCountsDto } from '@agency/contracts';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { WorkspaceService, type JobWorkspace } from '../git/workspace.service.js';
import { Sandbox, type SandboxLimitOverrides, type SandboxSession } from '../sandbox/sandbox.js';
import { StepFailure } from '../steps/step-failure.js';
import { parseTestOutput, type ParsedTestOutput, type TestOutputFormat } from '../testing/test-output.parser.js';

/** The repository's tests as they stand at the job's base, before any change. */
export interface BaselineResult {
  command: string;
  passed: boolean;
  exitCode: number;
  timedOut: boolean;
  format: TestOutputFormat;
  counts: TestCountsDto;
  /** The output's end, for a failing run (what the model needs to tell an old failure from its own). */
  tail: string;
  durationMs: number;
  /** What the setup put in node_modules/.bin (absent: no such directory), so the model knows which tools exist offline. */
  tools?: string[];
  /** The tests that failed, by name, when the runner named every failure (the test step tells a failure the base already had from a new one). */
  failing?: string[];
}

/** The names of a run's failed tests when the runner named every one of them, else undefined (nothing can be told apart then). */
export function namedFailures(parsed: ParsedTestOutput): string[] | undefined {
  if (parsed.format === 'unparsed' || parsed.counts.failed === 0) return undefined;
  const names = parsed.tests.filter((t) => t.status === 'failed').map((t) => t.name);
  return names.length === parsed.counts.failed ? names : undefined;
}

const TAIL_CHARS = 1500;
const CACHED = 200;

/**
 * Runs the test command once at the job's base, after the setup, in the job's sandbox (no
 * network), so the coder knows what already failed before it changed anything: in a relay trial
 * the repository's own tests could not run on the sandbox's Node at the base, and nothing said
 * so. The result is kept per repository, base commit, test and setup command (a re-driven step
 * or the next job at that base does not run it again); what the run left in the worktree is
 * discarded. Off with BASELINE_TESTS=false.
 */
@Injectable()
export class BaselineTests {
  private readonly cache = new Map<string, BaselineResult>();
  private readonly timeoutMs: number;

  constructor(
    private readonly config: AgentRunnerConfig,
    @Inject(Sandbox) private readonly sandbox: Pick<Sandbox, 'open'>,
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'discardChanges'>,
  ) {
    this.timeoutMs = config.TEST_TIMEOUT_SECONDS * 1000;
  }

  /**
   * The result this runner already has for the job's base, without running anything: a later
   * round's prompt repeats what the first said (the base's failures, the installed tools).
   */
  known(ws: JobWorkspace, repo: RepoTargetDto): BaselineResult | undefined {
    const command = repo.testCommand?.trim();
    return command ? this.cache.get(keyOf(ws, repo, command)) : undefined;
  }

  async run(
    ws: JobWorkspace,
    repo: RepoTargetDto,
    options: { jobId: string; limits?: SandboxLimitOverrides; progress: (message: string) => void; signal?: AbortSignal },
  ): Promise<BaselineResult | undefined> {
    const command = repo.testCommand?.trim();
    if (this.config.BASELINE_TESTS === false || !command) return undefined;
    const known = this.known(ws, repo);
    if (known) return known;
    const key = keyOf(ws, repo, command);
    options.progress(`environment: the tests at the base (${command})`);
    const session = await this.sandbox.open({
      workspace: ws.dir,
      jobId: options.jobId,
      repo: repo.name,
      ...(options.limits ? { limits: options.limits } : {}),
    });
    let result;
    let tools: string[] | undefined;
    try {
      result = await session.exec({ command, timeoutMs: this.timeoutMs });
      tools = await installedTools(session);
    } finally {
      await session.close();
    }
    // A cancelled job's worktree is gone or going: nothing more is done in it.
    if (options.signal?.aborted)
      throw new StepFailure('JOB_CANCELLED', `the tests at the base were stopped: ${String(options.signal.reason ?? 'the job was cancelled')}`, false);
    // Snapshots, coverage or build output the run wrote are not the coder's to find.
    await this.workspaces.discardChanges(ws);
    const parsed = parseTestOutput(result.output);
    const passed = result.exitCode === 0 && !result.timedOut;
    const failing = passed || result.timedOut ? undefined : namedFailures(parsed);
    const baseline: BaselineResult = {
      command,
      passed,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      format: parsed.format,
      counts: parsed.counts,
      tail: passed ? '' : result.output.slice(-TAIL_CHARS),
      durationMs: result.durationMs,
      ...(tools ? { tools } : {}),
      ...(failing ? { failing } : {}),
    };
    this.cache.set(key, baseline);
    if (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!);
    return baseline;
  }
}

function keyOf(ws: JobWorkspace, repo: RepoTargetDto, command: string): string {
  return [repo.name, ws.baseSha, command, repo.setupCommand ?? ''].join('\0');
}

const LISTED_TOOLS = 80;

/**
 * The names in node_modules/.bin, listed in the sandbox (the worktree is the sandbox's to change,
 * so the runner does not walk it); undefined when there is no such directory.
 */
async function installedTools(session: Pick<SandboxSession, 'exec'>): Promise<string[] | undefined> {
  const r = await session.exec({ command: 'test -d node_modules/.bin && ls -1 node_modules/.bin', timeoutMs: 10_000, maxOutputBytes: 16_000 });
  if (r.exitCode !== 0 || r.timedOut) return undefined;
  return r.output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[\w@.+-]{1,100}$/.test(l));
}

/** The installed tools, for the prompt: a model that runs `npx tsc` without TypeScript learns it only from a failure. */
function toolsText(tools: readonly string[] | undefined): string {
  if (!tools) return '';
  if (tools.length === 0) return ' Nothing is installed in node_modules/.bin.';
  const more = tools.length > LISTED_TOOLS ? ` and ${tools.length - LISTED_TOOLS} more` : '';
  return ` Installed in node_modules/.bin (npx finds only these, offline): ${tools.slice(0, LISTED_TOOLS).join(', ')}${more}.`;
}

/** One line (and the output's end, when it failed) for the coder's prompt, and the tools installed. */
export function baselineText(b: BaselineResult): string {
  return `${testsAtBase(b)}${toolsText(b.tools)}`;
}

function testsAtBase(b: BaselineResult): string {
  const counts =
    b.format === 'unparsed'
      ? `exit code ${b.exitCode}`
      : `${b.counts.passed} passed, ${b.counts.failed} failed, ${b.counts.skipped} skipped of ${b.counts.total}`;
  // A repository without tests (a published package) passes with nothing run: say that, not "0 passed of 0".
  if (b.passed && b.format !== 'unparsed' && b.counts.total === 0) return `Before any change, the tests (\`${b.command}\`) found no test to run at the base.`;
  if (b.passed) return `Before any change, the tests (\`${b.command}\`) passed at the base: ${counts}.`;
  const how = b.timedOut ? 'ran out of time' : 'already failed';
  return `Before any change, the tests (\`${b.command}\`) ${how} at the base (${counts}): those failures are not yours to fix unless the feature request is about them, and a change must not add new ones. The end of that run:\n${'```'}\n${b.tail.trim()}\n${'```'}`;
}
