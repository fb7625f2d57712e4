import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ArtifactRefDto, CodeCommand, CodedEvent, Envelope } from '@agency/contracts';
import { LlmClient } from '@agency/llm-client';
import { ArtifactStore, PermanentError } from '@agency/messaging';
import type { AgentDefinition } from '@agency/vault';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { AgentsRepository } from '../agents/agents.repository.js';
import { BaselineTests, baselineText } from '../environment/baseline-tests.js';
import { JobEnvironments, type EnvironmentSummary } from '../environment/job-environments.service.js';
import { WorktreeFiles } from '../files/worktree-files.js';
import { branchName } from '../git/branch-name.js';
import { WorkspaceService, type JobWorkspace } from '../git/workspace.service.js';
import { WorktreeGit } from '../git/worktree-git.js';
import { parsePlan, plannerReadFiles, type Plan } from '../planning/plan.answer.js';
import { instructionsOf, type RepoInstructions } from '../planning/repo-instructions.reader.js';
import { Sandbox, type SandboxSession } from '../sandbox/sandbox.js';
import { WorktreeOwner } from '../sandbox/worktree-owner.js';
import { ArtifactKeys, BUNDLE_CONTENT_TYPE, DIFF_CONTENT_TYPE } from '../steps/artifact-keys.js';
import { StepFailure } from '../steps/step-failure.js';
import { callContextOf, jobIdOf } from '../steps/step-ids.js';
import { CheckpointHandover } from './checkpoint-handover.js';
import { parseCodeAnswer, type CodeAnswer } from './code.answer.js';
import { buildCodeMessages, CONTEXT_LIMITS, contextPaths, type ContextFile, type EnvironmentNote, type ResumeNote } from './code.prompt.js';
import { CoderLoop, type CoderLoopResult } from './loop/coder-loop.js';
import { LiveSaver } from './loop/live-saver.js';
import { Transcript } from './loop/transcript.js';
import { roundCommitMessage } from './round-commit.js';
import { CoderTools } from './tools/coder-tools.js';
import { toolsFor } from './tools/tool-schemas.js';

export { commitSubject } from './round-commit.js';

/** `FR-001: write_file src/a.js (round 1, step 3)`: a checkpoint of the tool loop. */
export function checkpointSubject(frId: string, label: string, round: number, step: number): string {
  const short = label.length > 80 ? `${label.slice(0, 77)}...` : label;
  return `${frId}: ${short} (round ${round}, step ${step})`;
}

/** A round's starting point: the worktree, the commit it starts from, what setup installed, and an earlier attempt to resume. */
interface RoundStart {
  ws: JobWorkspace;
  roundStart: string;
  environment?: EnvironmentNote;
  resume?: ResumeNote;
}

/** What a step's work reports to and runs in. */
interface StepIo {
  transcript: Transcript;
  progress: (message: string) => void;
  signal: AbortSignal | undefined;
  sandbox: () => Promise<SandboxSession>;
  /** A checkpoint was committed. */
  checkpointed: () => void;
}

/** What the prompt says about the job's environment. */
function environmentNote(summary: EnvironmentSummary | undefined): EnvironmentNote | undefined {
  if (!summary?.setupCommand) return undefined;
  const setup = !summary.ok ? 'failed' : summary.action === 'restored' ? 'restored' : summary.action === 'present' ? 'present' : 'ran';
  return { setupCommand: summary.setupCommand, setup };
}

/**
 * The coder: FR, plan and (in fix rounds) findings and failing tests in; one commit for the round
 * on the job's branch out (its checkpoint commits kept on a side ref), handed over as a bundle and
 * a diff artifact, with the transcript of every model and tool call. An agent with tools
 * (20_agents/coder.md `tools:`) runs the tool loop; one without answers once with whole files.
 * A loop that stops early (step limit, repeats, time, budget) hands in what it committed, saying
 * why; an attempt that fails after committing leaves its commits for the next attempt to resume.
 */
@Injectable()
export class CoderService {
  private readonly commandTimeoutMs: number;

  constructor(
    @Inject(AgentsRepository) private readonly agents: Pick<AgentsRepository, 'get'>,
    @Inject(LlmClient) private readonly llm: Pick<LlmClient, 'chatJson' | 'chatTools'>,
    @Inject(WorkspaceService)
    private readonly workspaces: Pick<
      WorkspaceService,
      'openFresh' | 'openAt' | 'listFiles' | 'headOf' | 'commit' | 'exportWork' | 'squashRound' | 'workingChanges' | 'diffSince'
    >,
    @Inject(WorktreeFiles) private readonly files: Pick<WorktreeFiles, 'check' | 'write' | 'readText' | 'edit' | 'list' | 'readForModel'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'put' | 'putJson' | 'getJson'>,
    @Inject(WorktreeGit) private readonly worktreeGit: Pick<WorktreeGit, 'grep' | 'applyPatch'>,
    @Inject(Sandbox) private readonly sandbox: Pick<Sandbox, 'open' | 'workdirFor'>,
    @Inject(CheckpointHandover) private readonly handover: Pick<CheckpointHandover, 'live' | 'resume'>,
    config: AgentRunnerConfig,
    @Optional() private readonly owner?: WorktreeOwner,
    @Optional() @Inject(JobEnvironments) private readonly environments?: Pick<JobEnvironments, 'ensure' | 'describe'>,
    @Optional() @Inject(BaselineTests) private readonly baseline?: Pick<BaselineTests, 'run' | 'known'>,
  ) {
    this.commandTimeoutMs = config.COMMAND_TIMEOUT_SECONDS * 1000;
  }

  async code(env: Envelope<CodeCommand>, progress: (message: string) => void = () => undefined, signal?: AbortSignal): Promise<CodedEvent> {
    const cmd = env.payload;
    const agent = this.agents.get('coder');
    const { plan, instructions, readFiles } = await this.readPlan(cmd.plan);
    const start = await this.startRound(env, progress, signal);
    const { ws, roundStart } = start;
    // The transcript is stored as it grows (every 2 s at most), so the dashboard shows the round live.
    const transcript = new Transcript(undefined, () => live.poke());
    const live = new LiveSaver(() => this.saveTranscript(env, transcript, undefined, undefined, true));
    // Checkpoints go to the object store as they are made, so a killed runner's work resumes on another.
    const handing = this.handover.live(env, ws, roundStart);
    let session: Promise<SandboxSession> | undefined;
    let outcome: CoderLoopResult | undefined;
    let failure: unknown;
    try {
      const messages = await this.prompt(env, agent, plan, instructions, start, readFiles);
      const io = { transcript, progress, signal, sandbox: () => (session ??= this.openSandbox(env, ws)), checkpointed: () => handing.poke() };
      const result = await this.work(env, agent, start, messages, io);
      await this.checkWorkDone(env, ws, roundStart, result);
      outcome = result;
    } catch (e) {
      failure = e;
      // What this attempt committed is not lost: the next attempt (the saga's re-drive) resumes from it.
      await handing.leave(e instanceof Error ? e.message : String(e)).catch(() => false);
      throw e;
    } finally {
      // No handover may run once the round is squashed.
      await handing.finish();
      if (session) await (await session.catch(() => undefined))?.close();
      await live.finish();
      await this.saveTranscript(env, transcript, outcome, failure);
    }
    return this.handIn(env, ws, roundStart, outcome);
  }

  /** The worktree at the round's start, moved on to an earlier attempt's commits when one left them. */
  private async startRound(env: Envelope<CodeCommand>, progress: (message: string) => void, signal?: AbortSignal): Promise<RoundStart> {
    const cmd = env.payload;
    const jobId = jobIdOf(env);
    // Every round starts from a clean checkout of where it should start: the base, or the last round's head.
    const ws = cmd.workspace
      ? await this.workspaces.openAt(jobId, cmd.repo, cmd.workspace)
      : await this.workspaces.openFresh(jobId, cmd.repo, branchName(cmd.fr.id, cmd.fr.title));
    // The repository's setup runs (or is restored) before the coder's first command, on the fresh checkout; `JobEnvironments.describe(jobId)` tells what was installed.
    const limits = cmd.strategy.sandbox ? { limits: cmd.strategy.sandbox } : {};
    // Usually built while the plan was written (EnvironmentWarmup): this finds it `present` at once, and round 1's
    // prompt says what the warm-up did (installed, or restored from the cache), as when the setup ran here.
    const made = cmd.round === 1 ? this.environments?.describe(jobId) : undefined;
    const ensured = await this.environments?.ensure(ws, cmd.repo, { jobId, ...limits, progress });
    const summary = ensured?.action === 'present' && made && made.action !== 'present' ? made : ensured;
    const roundStart = await this.workspaces.headOf(ws);
    // The tests at the base, before the first round changes anything (not after a failed setup: they say nothing then);
    // a later round repeats what this runner found then (round 2 of a relay trial lost the tools' list).
    const before =
      cmd.round === 1 && roundStart === ws.baseSha && summary?.ok !== false
        ? await this.baseline?.run(ws, cmd.repo, { jobId, ...limits, progress, ...(signal ? { signal } : {}) })
        : summary?.ok !== false
          ? this.baseline?.known(ws, cmd.repo)
          : undefined;
    const note = environmentNote(summary);
    const environment = before ? { ...(note ?? {}), baseline: baselineText(before) } : note;
    // An earlier attempt's handover, or this step's run that was cut short on this disk (a redelivery after a crash has the same attempt number).
    const resumed = await this.handover.resume(env, roundStart, ws);
    if (resumed) return { ws: resumed.ws, roundStart, ...(environment ? { environment } : {}), resume: resumed.note };
    return { ws, roundStart, ...(environment ? { environment } : {}) };
  }

  private async prompt(
    env: Envelope<CodeCommand>,
    agent: AgentDefinition,
    plan: Plan,
    instructions: RepoInstructions[],
    start: RoundStart,
    readFiles: readonly string[],
  ) {
    const cmd = env.payload;
    const head = await this.workspaces.headOf(start.ws);
    const tree = await this.workspaces.listFiles(start.ws.mirrorDir, head);
    const contents = await this.readContext(start.ws, contextPaths(plan, cmd.findings, tree, undefined, readFiles), readFiles);
    return buildCodeMessages(agent, {
      fr: cmd.fr,
      repo: cmd.repo,
      plan,
      round: cmd.round,
      tree,
      contents,
      findings: cmd.findings,
      instructions,
      ...(cmd.testFailures ? { testFailures: cmd.testFailures } : {}),
      // Where run_command really runs: /workspace/repo in a container, the host worktree under SANDBOX=process.
      ...(agent.tools.length > 0 ? { tools: { workdir: this.sandbox.workdirFor(start.ws.dir) } } : {}),
      ...(start.environment ? { environment: start.environment } : {}),
      ...(start.resume ? { resume: start.resume } : {}),
    });
  }

  /** The model's part: one whole-files answer, or the tool loop. */
  private async work(
    env: Envelope<CodeCommand>,
    agent: AgentDefinition,
    start: RoundStart,
    messages: ReturnType<typeof buildCodeMessages>,
    io: StepIo,
  ): Promise<CoderLoopResult> {
    const { ws, roundStart } = start;
    const { transcript, progress, signal, sandbox, checkpointed } = io;
    const cmd = env.payload;
    const ctx = callContextOf(env, cmd.strategy.budgetUsd, signal);
    const trailer = `Agency-Saga: ${env.sagaId}\nAgency-Step: ${env.step}`;
    const parseAnswer = (value: unknown) => parseCodeAnswer(value, (path) => this.files.check(ws.dir, [path]));
    const applyAnswer = async (answer: CodeAnswer): Promise<string | undefined> => {
      await this.files.write(ws.dir, answer.files);
      const sha = await this.workspaces.commit(
        ws,
        `${cmd.fr.id}: ${answer.summary.split('\n')[0]!.slice(0, 72)}`,
        `${answer.summary}\n\n${trailer}`,
        answer.files.map((f) => f.path),
      );
      if (!sha) {
        // Resumed from an earlier attempt that had already written this answer (a deterministic
        // model, a re-drive after a kill): the round's work is there, nothing is missing.
        const head = await this.workspaces.headOf(ws);
        if (head !== roundStart) return head;
        throw new StepFailure(
          'EMPTY_CHANGE',
          `round ${cmd.round}: the coder's answer changed nothing; its ${answer.files.length} file(s) (${answer.files.map((f) => f.path).join(', ')}) already had that content`,
        );
      }
      return sha;
    };
    if (agent.tools.length === 0) {
      const { value: answer, result } = await this.llm.chatJson(
        { model: cmd.strategy.coderModel, messages, maxTokens: agent.maxTokens, temperature: agent.temperature },
        parseAnswer,
        ctx,
        { repairTurns: agent.repairTurns },
      );
      transcript.prompt(messages, []);
      transcript.model(1, {
        model: result.model,
        durationMs: 0,
        inputTokens: result.inputTokens,
        outputTokens: result.outputTokens,
        content: result.content,
        toolCalls: [],
      });
      await applyAnswer(answer);
      return { summary: answer.summary, steps: 1, commits: 1, mode: 'answer' };
    }
    const tools = toolsFor(agent.tools);
    const coderTools = new CoderTools({
      ws,
      files: this.files,
      git: this.worktreeGit,
      sandbox,
      commandTimeoutMs: this.commandTimeoutMs,
      workdir: this.sandbox.workdirFor(ws.dir),
      allowed: new Set(agent.tools),
      adopt: (paths) =>
        this.owner?.adopt(
          ws.dir,
          paths.map((p) => `${ws.dir}/${p}`),
        ),
      changes: () => this.workspaces.workingChanges(ws),
      diff: (path) => this.workspaces.diffSince(ws, roundStart, path),
    });
    const loop = new CoderLoop({
      llm: this.llm,
      tools: coderTools,
      checkpoint: async (paths, label, step) => {
        const sha = await this.workspaces.commit(
          ws,
          checkpointSubject(cmd.fr.id, label, cmd.round, step),
          `Checkpoint of the coder's tool loop.\n\n${trailer}`,
          paths,
        );
        if (sha) checkpointed();
        return sha;
      },
      applyAnswer,
      parseAnswer,
      transcript,
      progress,
    });
    return loop.run({
      model: cmd.strategy.coderModel,
      messages,
      tools,
      maxSteps: agent.maxSteps,
      maxTokens: agent.maxTokens,
      temperature: agent.temperature,
      ctx,
      repeatLimit: agent.repeatLimit,
      condenseAfterChars: agent.condenseAfterChars,
    });
  }

  /** A round that committed nothing has nothing to hand in: a stopped loop fails with why it stopped, a finished one with EMPTY_CHANGE. */
  private async checkWorkDone(env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string, outcome: CoderLoopResult): Promise<void> {
    const round = env.payload.round;
    if ((await this.workspaces.headOf(ws)) !== roundStart) return;
    if (outcome.stopped)
      throw new StepFailure(outcome.stopped.code, `round ${round}: ${outcome.stopped.reason}; nothing was committed, so there is no work to hand in`);
    throw new StepFailure(
      'EMPTY_CHANGE',
      `round ${round}: the coder finished after ${outcome.steps} step(s) without changing any file ("${outcome.summary.slice(0, 300)}")`,
    );
  }

  /** One commit for the round, exported; a stopped loop's commits go with why it stopped. */
  private async handIn(env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string, outcome: CoderLoopResult): Promise<CodedEvent> {
    const cmd = env.payload;
    const message = roundCommitMessage({
      frId: cmd.fr.id,
      frTitle: cmd.fr.title,
      round: cmd.round,
      summary: outcome.summary,
      ...(outcome.stopped ? { stopped: outcome.stopped } : {}),
      sagaId: env.sagaId,
      step: env.step,
    });
    await this.workspaces.squashRound(ws, roundStart, `r${cmd.round}-a${env.attempt}`, message.subject, message.body);
    const work = await this.workspaces.exportWork(ws);
    const bundle = await this.artifacts.put(ArtifactKeys.bundle(env, cmd.round), work.bundle, BUNDLE_CONTENT_TYPE);
    const diff = await this.artifacts.put(ArtifactKeys.diff(env, cmd.round), work.diff, DIFF_CONTENT_TYPE);
    return {
      round: cmd.round,
      workspace: { branch: ws.branch, baseSha: ws.baseSha, headSha: work.headSha, bundle },
      diff,
      filesChanged: work.filesChanged,
      commits: work.commits,
      summary: outcome.summary.slice(0, 5000),
      ...(outcome.stopped ? { stopped: { code: outcome.stopped.code, reason: outcome.stopped.reason.slice(0, 5000) } } : {}),
    };
  }

  private openSandbox(env: Envelope<CodeCommand>, ws: JobWorkspace): Promise<SandboxSession> {
    const cmd = env.payload;
    return this.sandbox.open({
      workspace: ws.dir,
      jobId: jobIdOf(env),
      repo: cmd.repo.name,
      ...(cmd.strategy.sandbox ? { limits: cmd.strategy.sandbox } : {}),
    });
  }

  /** The transcript goes to the object store whatever happened; a failure to store it never hides the step's own error. */
  private async saveTranscript(
    env: Envelope<CodeCommand>,
    transcript: Transcript,
    outcome: CoderLoopResult | undefined,
    failure: unknown,
    running = false,
  ): Promise<void> {
    const doc = {
      frId: env.frId,
      sagaId: env.sagaId,
      step: env.step,
      attempt: env.attempt,
      round: env.payload.round,
      ...(running
        ? { running: true }
        : {
            outcome: outcome
              ? { ok: true, ...outcome }
              : { ok: false, error: failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure) },
          }),
      totals: transcript.summary(),
      entries: transcript.entries,
    };
    try {
      await this.artifacts.putJson(ArtifactKeys.transcript(env, env.payload.round), doc);
    } catch (e) {
      if (!failure) throw e;
    }
  }

  private async readPlan(ref: ArtifactRefDto): Promise<{ plan: Plan; instructions: RepoInstructions[]; readFiles: string[] }> {
    const stored = await this.artifacts.getJson<unknown>(ref);
    try {
      return { plan: parsePlan(stored), instructions: instructionsOf(stored), readFiles: plannerReadFiles(stored) };
    } catch (e) {
      throw new PermanentError(`plan artifact ${ref.key} is not a plan: ${(e as Error).message}`, 'PLAN_INVALID');
    }
  }

  private async readContext(
    ws: JobWorkspace,
    wanted: ReadonlyArray<{ path: string; purpose: ContextFile['purpose'] }>,
    readFiles: readonly string[],
  ): Promise<ContextFile[]> {
    const out: ContextFile[] = [];
    for (const { path, purpose } of wanted) {
      const content = await this.files.readText(ws.dir, path, CONTEXT_LIMITS.fileBytes);
      if (content !== undefined) out.push({ path, content, purpose, ...(readFiles.includes(path) ? { readByPlanner: true } : {}) });
    }
    return out;
  }
}
