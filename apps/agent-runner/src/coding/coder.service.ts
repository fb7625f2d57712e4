import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ArtifactRefDto, CodeCommand, CodedEvent, Envelope } from '@agency/contracts';
import { LlmClient } from '@agency/llm-client';
import { ArtifactStore, PermanentError } from '@agency/messaging';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { AgentsRepository } from '../agents/agents.repository.js';
import { WorktreeFiles } from '../files/worktree-files.js';
import { branchName } from '../git/branch-name.js';
import { WorkspaceService, type JobWorkspace } from '../git/workspace.service.js';
import { WorktreeGit } from '../git/worktree-git.js';
import { parsePlan, type Plan } from '../planning/plan.answer.js';
import { Sandbox, type SandboxSession } from '../sandbox/sandbox.js';
import { WorktreeOwner } from '../sandbox/worktree-owner.js';
import { ArtifactKeys, BUNDLE_CONTENT_TYPE, DIFF_CONTENT_TYPE } from '../steps/artifact-keys.js';
import { StepFailure } from '../steps/step-failure.js';
import { callContextOf, jobIdOf } from '../steps/step-ids.js';
import { parseCodeAnswer, type CodeAnswer } from './code.answer.js';
import { buildCodeMessages, CONTEXT_LIMITS, contextPaths } from './code.prompt.js';
import { CoderLoop, type CoderLoopResult } from './loop/coder-loop.js';
import { Transcript } from './loop/transcript.js';
import { CoderTools } from './tools/coder-tools.js';
import { toolsFor } from './tools/tool-schemas.js';

/** `FR-001: Added farewell() (round 1)`: one line, whatever the model's summary looks like. */
export function commitSubject(frId: string, summary: string, round: number): string {
  const line = summary.split('\n').find((l) => l.trim())?.trim() ?? 'changes';
  const short = line.length > 100 ? `${line.slice(0, 97)}...` : line;
  return `${frId}: ${short} (round ${round})`;
}

/** `FR-001: write_file src/a.js (round 1, step 3)`: a checkpoint of the tool loop. */
export function checkpointSubject(frId: string, label: string, round: number, step: number): string {
  const short = label.length > 80 ? `${label.slice(0, 77)}...` : label;
  return `${frId}: ${short} (round ${round}, step ${step})`;
}

/**
 * The coder: FR, plan and (in fix rounds) findings and failing tests in; commits on the job's
 * branch out, handed over as a bundle and a diff artifact, with the transcript of every model
 * and tool call. An agent with tools (20_agents/coder.md `tools:`) runs the tool loop; one
 * without answers once with whole files (the one-shot JSON format).
 */
@Injectable()
export class CoderService {
  private readonly commandTimeoutMs: number;

  constructor(
    @Inject(AgentsRepository) private readonly agents: Pick<AgentsRepository, 'get'>,
    @Inject(LlmClient) private readonly llm: Pick<LlmClient, 'chatJson' | 'chatTools'>,
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'openFresh' | 'openAt' | 'listFiles' | 'headOf' | 'commit' | 'exportWork'>,
    @Inject(WorktreeFiles) private readonly files: Pick<WorktreeFiles, 'check' | 'write' | 'readText' | 'edit' | 'list' | 'readForModel'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'put' | 'putJson' | 'getJson'>,
    @Inject(WorktreeGit) private readonly worktreeGit: Pick<WorktreeGit, 'grep' | 'applyPatch'>,
    @Inject(Sandbox) private readonly sandbox: Pick<Sandbox, 'open'>,
    config: AgentRunnerConfig,
    @Optional() private readonly owner?: WorktreeOwner,
  ) {
    this.commandTimeoutMs = config.COMMAND_TIMEOUT_SECONDS * 1000;
  }

  async code(env: Envelope<CodeCommand>, progress: (message: string) => void = () => undefined): Promise<CodedEvent> {
    const cmd = env.payload;
    const agent = this.agents.get('coder');
    const plan = await this.readPlan(cmd.plan);
    const jobId = jobIdOf(env);
    // Every round starts from a clean checkout of where it should start: the base, or the last round's head.
    const ws = cmd.workspace ? await this.workspaces.openAt(jobId, cmd.repo, cmd.workspace) : await this.workspaces.openFresh(jobId, cmd.repo, branchName(cmd.fr.id, cmd.fr.title));
    const roundStart = await this.workspaces.headOf(ws);
    const tree = await this.workspaces.listFiles(ws.mirrorDir, roundStart);
    const contents = await this.readContext(ws, contextPaths(plan, cmd.findings, tree));
    const tools = agent.tools.length > 0 ? toolsFor(agent.tools) : [];
    const messages = buildCodeMessages(agent, {
      fr: cmd.fr,
      repo: cmd.repo,
      plan,
      round: cmd.round,
      tree,
      contents,
      findings: cmd.findings,
      ...(cmd.testFailures ? { testFailures: cmd.testFailures } : {}),
      ...(tools.length > 0 ? { tools: { workdir: '/workspace/repo' } } : {}),
    });
    const trailer = `Agency-Saga: ${env.sagaId}\nAgency-Step: ${env.step}`;
    const applyAnswer = async (answer: CodeAnswer): Promise<string | undefined> => {
      await this.files.write(ws.dir, answer.files);
      const sha = await this.workspaces.commit(ws, commitSubject(cmd.fr.id, answer.summary, cmd.round), `${answer.summary}\n\n${trailer}`, answer.files.map((f) => f.path));
      if (!sha) throw new StepFailure('EMPTY_CHANGE', `round ${cmd.round}: the coder's answer changed nothing; its ${answer.files.length} file(s) (${answer.files.map((f) => f.path).join(', ')}) already had that content`);
      return sha;
    };
    const transcript = new Transcript();
    let session: Promise<SandboxSession> | undefined;
    let outcome: CoderLoopResult | undefined;
    let failure: unknown;
    try {
      if (tools.length === 0) {
        const { value: answer, result } = await this.llm.chatJson(
          { model: cmd.strategy.coderModel, messages, maxTokens: agent.maxTokens, temperature: agent.temperature },
          (value) => parseCodeAnswer(value, (path) => this.files.check(ws.dir, [path])),
          callContextOf(env, cmd.strategy.budgetUsd),
        );
        transcript.prompt(messages, []);
        transcript.model(1, { model: result.model, durationMs: 0, inputTokens: result.inputTokens, outputTokens: result.outputTokens, content: result.content, toolCalls: [] });
        await applyAnswer(answer);
        outcome = { summary: answer.summary, steps: 1, commits: 1, mode: 'answer' };
      } else {
        const coderTools = new CoderTools({
          ws,
          files: this.files,
          git: this.worktreeGit,
          sandbox: () => (session ??= this.sandbox.open({ workspace: ws.dir, jobId, repo: cmd.repo.name, ...(cmd.strategy.sandbox ? { limits: cmd.strategy.sandbox } : {}) })),
          commandTimeoutMs: this.commandTimeoutMs,
          allowed: new Set(agent.tools),
          adopt: (paths) => this.owner?.adopt(ws.dir, paths.map((p) => `${ws.dir}/${p}`)),
        });
        const loop = new CoderLoop({
          llm: this.llm,
          tools: coderTools,
          checkpoint: (paths, label, step) => this.workspaces.commit(ws, checkpointSubject(cmd.fr.id, label, cmd.round, step), `Checkpoint of the coder's tool loop.\n\n${trailer}`, paths),
          applyAnswer,
          parseAnswer: (value) => parseCodeAnswer(value, (path) => this.files.check(ws.dir, [path])),
          transcript,
          progress,
        });
        outcome = await loop.run({ model: cmd.strategy.coderModel, messages, tools, maxSteps: agent.maxSteps, maxTokens: agent.maxTokens, temperature: agent.temperature, ctx: callContextOf(env, cmd.strategy.budgetUsd) });
      }
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      if (session) await (await session.catch(() => undefined))?.close();
      await this.saveTranscript(env, transcript, outcome, failure);
    }
    const headSha = await this.workspaces.headOf(ws);
    if (headSha === roundStart) {
      throw new StepFailure('EMPTY_CHANGE', `round ${cmd.round}: the coder finished after ${outcome.steps} step(s) without changing any file ("${outcome.summary.slice(0, 300)}")`);
    }
    const work = await this.workspaces.exportWork(ws);
    const bundle = await this.artifacts.put(ArtifactKeys.bundle(env, cmd.round), work.bundle, BUNDLE_CONTENT_TYPE);
    const diff = await this.artifacts.put(ArtifactKeys.diff(env, cmd.round), work.diff, DIFF_CONTENT_TYPE);
    return {
      round: cmd.round,
      workspace: { branch: ws.branch, baseSha: ws.baseSha, headSha: work.headSha, bundle },
      diff,
      filesChanged: work.filesChanged,
      commits: work.commits,
      summary: outcome.summary,
    };
  }

  /** The transcript goes to the object store whatever happened; a failure to store it never hides the step's own error. */
  private async saveTranscript(env: Envelope<CodeCommand>, transcript: Transcript, outcome: CoderLoopResult | undefined, failure: unknown): Promise<void> {
    const doc = {
      frId: env.frId,
      sagaId: env.sagaId,
      step: env.step,
      attempt: env.attempt,
      round: env.payload.round,
      outcome: outcome ? { ok: true, ...outcome } : { ok: false, error: failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure) },
      totals: transcript.summary(),
      entries: transcript.entries,
    };
    try {
      await this.artifacts.putJson(ArtifactKeys.transcript(env, env.payload.round), doc);
    } catch (e) {
      if (!failure) throw e;
    }
  }

  private async readPlan(ref: ArtifactRefDto): Promise<Plan> {
    const stored = await this.artifacts.getJson<unknown>(ref);
    try {
      return parsePlan(stored);
    } catch (e) {
      throw new PermanentError(`plan artifact ${ref.key} is not a plan: ${(e as Error).message}`, 'PLAN_INVALID');
    }
  }

  private async readContext(ws: JobWorkspace, paths: string[]): Promise<Array<{ path: string; content: string }>> {
    const out: Array<{ path: string; content: string }> = [];
    for (const path of paths) {
      const content = await this.files.readText(ws.dir, path, CONTEXT_LIMITS.fileBytes);
      if (content !== undefined) out.push({ path, content });
    }
    return out;
  }
}
