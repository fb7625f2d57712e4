import { Inject, Injectable } from '@nestjs/common';
import type { ArtifactRefDto, CodeCommand, CodedEvent, Envelope } from '@agency/contracts';
import { LlmClient } from '@agency/llm-client';
import { ArtifactStore, PermanentError } from '@agency/messaging';
import { AgentsRepository } from '../agents/agents.repository.js';
import { WorktreeFiles } from '../files/worktree-files.js';
import { branchName } from '../git/branch-name.js';
import { WorkspaceService, type JobWorkspace } from '../git/workspace.service.js';
import { parsePlan, type Plan } from '../planning/plan.answer.js';
import { ArtifactKeys, BUNDLE_CONTENT_TYPE, DIFF_CONTENT_TYPE } from '../steps/artifact-keys.js';
import { StepFailure } from '../steps/step-failure.js';
import { callContextOf, jobIdOf } from '../steps/step-ids.js';
import { parseCodeAnswer } from './code.answer.js';
import { buildCodeMessages, CONTEXT_LIMITS, contextPaths } from './code.prompt.js';

/** `FR-001: Added farewell() (round 1)`: one line, whatever the model's summary looks like. */
export function commitSubject(frId: string, summary: string, round: number): string {
  const line = summary.split('\n').find((l) => l.trim())?.trim() ?? 'changes';
  const short = line.length > 100 ? `${line.slice(0, 97)}...` : line;
  return `${frId}: ${short} (round ${round})`;
}

/**
 * The coder: FR, plan and (in fix rounds) findings and failing tests in, one commit on the
 * job's branch out, handed over as a bundle and a diff artifact.
 */
@Injectable()
export class CoderService {
  constructor(
    @Inject(AgentsRepository) private readonly agents: Pick<AgentsRepository, 'get'>,
    @Inject(LlmClient) private readonly llm: Pick<LlmClient, 'chatJson'>,
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'openFresh' | 'openAt' | 'listFiles' | 'commit' | 'exportWork'>,
    @Inject(WorktreeFiles) private readonly files: Pick<WorktreeFiles, 'check' | 'write' | 'readText'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'put' | 'getJson'>,
  ) {}

  async code(env: Envelope<CodeCommand>): Promise<CodedEvent> {
    const cmd = env.payload;
    const agent = this.agents.get('coder');
    const plan = await this.readPlan(cmd.plan);
    const jobId = jobIdOf(env);
    // Every round starts from a clean checkout of where it should start: the base, or the last round's head.
    const ws = cmd.workspace ? await this.workspaces.openAt(jobId, cmd.repo, cmd.workspace) : await this.workspaces.openFresh(jobId, cmd.repo, branchName(cmd.fr.id, cmd.fr.title));
    const tree = await this.workspaces.listFiles(ws.dir, 'HEAD');
    const contents = await this.readContext(ws, contextPaths(plan, cmd.findings, tree));
    const messages = buildCodeMessages(agent, {
      fr: cmd.fr,
      repo: cmd.repo,
      plan,
      round: cmd.round,
      tree,
      contents,
      findings: cmd.findings,
      ...(cmd.testFailures ? { testFailures: cmd.testFailures } : {}),
    });
    const { value: answer } = await this.llm.chatJson(
      { model: cmd.strategy.coderModel, messages, maxTokens: agent.maxTokens, temperature: agent.temperature },
      (value) => parseCodeAnswer(value, (path) => this.files.check(ws.dir, [path])),
      callContextOf(env),
    );
    await this.files.write(ws.dir, answer.files);
    const body = `${answer.summary}\n\nAgency-Saga: ${env.sagaId}\nAgency-Step: ${env.step}`;
    const headSha = await this.workspaces.commit(ws, commitSubject(cmd.fr.id, answer.summary, cmd.round), body);
    if (!headSha) {
      throw new StepFailure('EMPTY_CHANGE', `round ${cmd.round}: the coder's answer changed nothing; its ${answer.files.length} file(s) (${answer.files.map((f) => f.path).join(', ')}) already had that content`);
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
      summary: answer.summary,
    };
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
