import { Inject, Injectable } from '@nestjs/common';
import type { Envelope, PlanCommand, PlannedEvent } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { LlmClient } from '@agency/llm-client';
import { ArtifactStore, Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentsRepository } from '../agents/agents.repository.js';
import { TOOL_SCHEMAS } from '../coding/tools/tool-schemas.js';
import { GitClient } from '../git/git.client.js';
import { WorkspaceService } from '../git/workspace.service.js';
import { RepoStatsStore } from '../repo-stats.store.js';
import { ArtifactKeys } from '../steps/artifact-keys.js';
import { callContextOf } from '../steps/step-ids.js';
import { BaseTreeTools, plannerTools } from './base-tree-tools.js';
import { parsePlan, PLAN_SHAPE } from './plan.answer.js';
import { buildPlanMessages } from './plan.prompt.js';
import { PlannerLoop } from './planner-loop.js';
import { RepoInstructionsReader } from './repo-instructions.reader.js';

/**
 * The planner: FR and repository map in, a validated plan artifact out. An agent whose vault file
 * gives it reading tools (list_files, read_file, search) and more than one step reads the base
 * commit before it answers; the plan records what it read.
 */
@Injectable()
export class PlannerService {
  constructor(
    @Inject(AgentsRepository) private readonly agents: Pick<AgentsRepository, 'get'>,
    @Inject(LlmClient) private readonly llm: Pick<LlmClient, 'chatJson' | 'chatTools'>,
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'baseOf' | 'listFiles'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'putJson'>,
    private readonly clock: Clock,
    @Inject(RepoStatsStore) private readonly repoStats: Pick<RepoStatsStore, 'record'>,
    @Inject(SERVICE_LOGGER) private readonly logger: Pick<AgencyPinoLogger, 'warn'>,
    @Inject(RepoInstructionsReader) private readonly instructions: Pick<RepoInstructionsReader, 'read'>,
    @Inject(GitClient) private readonly git: Pick<GitClient, 'runCapped'>,
  ) {}

  /** `onBase` learns the base commit as soon as it is resolved, before the model is asked (the job's environment starts there). */
  async plan(env: Envelope<PlanCommand>, signal?: AbortSignal, onBase?: (baseSha: string) => void): Promise<PlannedEvent> {
    const { fr, repo, strategy } = env.payload;
    const agent = this.agents.get('planner');
    // The map comes from the mirror at the base commit: planning needs no worktree.
    const { mirrorDir, baseSha } = await this.workspaces.baseOf(repo);
    onBase?.(baseSha);
    const files = await this.workspaces.listFiles(mirrorDir, baseSha);
    // For the router's repo_size feature; written while the model plans, and never fails the plan.
    const recorded = this.recordRepoStats(repo.name, files, baseSha);
    // The repository's own instructions for agents travel in the plan, so coder and reviewer read the same ones.
    const instructions = await this.instructions.read(mirrorDir, baseSha, files);
    const tools = agent.maxSteps > 1 ? plannerTools(agent.tools) : [];
    const messages = buildPlanMessages(agent, fr, repo, files, instructions, { tools, turns: agent.maxSteps });
    const ctx = callContextOf(env, strategy.budgetUsd, signal);
    const request = { model: strategy.plannerModel, messages, maxTokens: agent.maxTokens, temperature: agent.temperature };
    // An agent given reading tools looks before it plans; one without (the default) answers at once.
    const answered =
      tools.length > 0
        ? await new PlannerLoop({ llm: this.llm, tools: new BaseTreeTools(this.git, mirrorDir, baseSha, files, new Set(tools)) }).run({
            ...request,
            tools: tools.map((t) => TOOL_SCHEMAS[t]),
            maxSteps: agent.maxSteps,
            repairTurns: agent.repairTurns,
            shape: PLAN_SHAPE,
            parse: parsePlan,
            ctx,
          })
        : await this.llm.chatJson(request, parsePlan, ctx, { repairTurns: agent.repairTurns, shape: PLAN_SHAPE });
    // What was read in another shape than asked goes in the meta, beside the JSON fixes, not in the plan the coder reads.
    const { value: read, result, fixes } = answered;
    const { readAs, ...plan } = read;
    const explored = 'explored' in answered ? { turns: answered.turns, explored: answered.explored, readFiles: answered.readFiles } : {};
    const meta = {
      frId: fr.id,
      sagaId: env.sagaId,
      repo: repo.name,
      base: repo.base,
      baseSha,
      model: result.model,
      createdAt: this.clock.now().toISOString(),
      ...(fixes.length > 0 ? { answerFixes: fixes } : {}),
      ...(readAs ? { answerReadAs: readAs } : {}),
      ...explored,
    };
    const ref = await this.artifacts.putJson(ArtifactKeys.plan(env), { ...plan, ...(instructions.length > 0 ? { instructions } : {}), meta });
    await recorded;
    return { plan: ref, summary: plan.summary, stepCount: plan.steps.length };
  }

  private async recordRepoStats(repo: string, files: ReadonlyArray<{ size: number }>, baseSha: string): Promise<void> {
    try {
      const sizeBytes = files.reduce((sum, f) => sum + f.size, 0);
      await this.repoStats.record(repo, { fileCount: files.length, sizeBytes, baseSha, at: this.clock.now().toISOString() });
    } catch (err) {
      this.logger.warn({ err, repo }, 'repository stats not recorded; the router scores without repo_size');
    }
  }
}
