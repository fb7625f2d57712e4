import { Inject, Injectable } from '@nestjs/common';
import type { FrScoredEvent, FrSnapshotDto, RepoStatsDto, SandboxLimitsDto, ScoreReasonDto, StrategyDto } from '@agency/contracts';
import type { CallContext } from '@agency/llm-client';
import { PermanentError } from '@agency/messaging';
import type { AgencyConfig, TierConfig, TierSandboxConfig } from '@agency/vault';
import { TierConfigRepository } from '../vault/tier-config.repository.js';
import { SCORE_REFINER, type ScoreRefiner } from './score-refiner.js';

/** Points per feature and their caps; docs/architecture.md#routing explains the choice. */
export const WEIGHTS = {
  phase: { each: 6, cap: 30 },
  criterion: { each: 3, cap: 15 },
  specChars: { per: 400, cap: 15 },
  dependency: { each: 5, cap: 10 },
  file: { each: 3, cap: 15 },
  repoFilesLog10: { each: 5, cap: 15 },
} as const;

const FILE_TOKEN = /(?:^|[\s`'"(])((?:[\w.-]+\/)+[\w.-]+\.[a-z0-9]{1,6})(?=$|[\s`'"),:;])/gim;

/** Paths the FR names (src/farewell.js): a hint of how many files the change touches. */
export function filesMentioned(text: string): string[] {
  return [...new Set([...text.matchAll(FILE_TOKEN)].map((m) => m[1]!))];
}

/** Repository stats from the score command, or as the runner recorded them at a base commit. */
export type RepoSize = RepoStatsDto & { baseSha?: string };

export function scoreFr(fr: FrSnapshotDto, repoStats?: RepoSize): { score: number; reasons: ScoreReasonDto[] } {
  const reasons: ScoreReasonDto[] = [];
  const add = (feature: string, raw: number, cap: number, detail: string) => {
    const points = Math.min(cap, Math.round(raw * 10) / 10);
    reasons.push({ feature, points, detail });
  };
  add('phases', fr.phases.length * WEIGHTS.phase.each, WEIGHTS.phase.cap, `${fr.phases.length} phase(s)`);
  add(
    'acceptance_criteria',
    fr.acceptanceCriteria.length * WEIGHTS.criterion.each,
    WEIGHTS.criterion.cap,
    `${fr.acceptanceCriteria.length} criterion/criteria`,
  );
  add('spec_length', fr.body.length / WEIGHTS.specChars.per, WEIGHTS.specChars.cap, `${fr.body.length} characters of spec`);
  add('dependencies', fr.dependsOn.length * WEIGHTS.dependency.each, WEIGHTS.dependency.cap, `depends on ${fr.dependsOn.length} FR(s)`);
  const files = filesMentioned(`${fr.body}\n${fr.phases.join('\n')}`);
  add(
    'files_touched',
    files.length * WEIGHTS.file.each,
    WEIGHTS.file.cap,
    `${files.length} file(s) named${files.length ? `: ${files.slice(0, 5).join(', ')}` : ''}`,
  );
  if (repoStats) {
    const at = repoStats.baseSha ? ` at ${repoStats.baseSha.slice(0, 12)}` : '';
    add(
      'repo_size',
      Math.log10(Math.max(1, repoStats.fileCount)) * WEIGHTS.repoFilesLog10.each,
      WEIGHTS.repoFilesLog10.cap,
      `${repoStats.fileCount} files in the repository${at}`,
    );
  } else {
    // The runner records the size when it plans; the first FR of a repository is scored without it.
    reasons.push({ feature: 'repo_size', points: 0, detail: 'repository size not known yet (recorded when a plan of this repository lists its files)' });
  }
  const score = Math.min(100, Math.round(reasons.reduce((s, r) => s + r.points, 0) * 10) / 10);
  return { score, reasons };
}

function sandboxLimitsOf(s: TierSandboxConfig): SandboxLimitsDto {
  return {
    ...(s.memory_mb !== undefined ? { memoryMb: s.memory_mb } : {}),
    ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
    ...(s.pids !== undefined ? { pids: s.pids } : {}),
  };
}

/** The model alias each agent's file names: a tier without its own alias for a role uses it. */
export type AgentModels = Record<'planner' | 'coder' | 'reviewer', string>;

export function strategyOf(tier: TierConfig, agents: AgentModels): StrategyDto {
  return {
    tier: tier.name,
    plannerModel: tier.models.planner ?? agents.planner,
    coderModel: tier.models.coder ?? agents.coder,
    reviewerModel: tier.models.reviewer ?? agents.reviewer,
    reviewRounds: tier.review_rounds,
    planApproval: tier.plan_approval,
    autoMerge: tier.auto_merge,
    budgetUsd: tier.budget_usd,
    ...(tier.sandbox ? { sandbox: sandboxLimitsOf(tier.sandbox) } : {}),
  };
}

export function chooseTier(config: AgencyConfig, score: number, forced?: string): TierConfig {
  if (forced) {
    const tier = config.tiers.find((t) => t.name === forced);
    if (!tier) throw new PermanentError(`tier "${forced}" is not defined; tiers are: ${config.tiers.map((t) => t.name).join(', ')}`, 'UNKNOWN_TIER');
    return tier;
  }
  return config.tiers.find((t) => t.max_score >= score) ?? config.tiers[config.tiers.length - 1]!;
}

/** The heuristic score moved by the model's adjustment, kept within 0-100. */
export function refinedScore(heuristic: number, adjustment: number): number {
  return Math.min(100, Math.max(0, Math.round((heuristic + adjustment) * 10) / 10));
}

/**
 * Scores an FR's complexity from documented features, optionally refined by a model
 * (agency.yaml `routing.refine_model`), and picks the tier that runs it.
 */
@Injectable()
export class ScoringService {
  constructor(
    private readonly tiers: TierConfigRepository,
    @Inject(SCORE_REFINER) private readonly refiner: ScoreRefiner,
  ) {}

  async score(fr: FrSnapshotDto, repoStats?: RepoSize, forcedTier?: string, ctx: CallContext = {}): Promise<FrScoredEvent> {
    const config = this.tiers.current();
    // An unknown forced tier fails before any model is paid for.
    const forced = forcedTier ? chooseTier(config, 0, forcedTier) : undefined;
    const heuristic = scoreFr(fr, repoStats);
    let score = heuristic.score;
    const reasons = [...heuristic.reasons];
    const model = config.routing?.refine_model;
    if (model) {
      // The call is bounded by the budget of the tier the FR would run in without it.
      const budget = (forced ?? chooseTier(config, heuristic.score)).budget_usd;
      const reason = await this.refine({ fr, heuristic, model, maxAdjustment: config.routing.max_adjustment, ctx: { ...ctx, frBudgetUsd: budget } });
      reasons.push(reason);
      score = refinedScore(heuristic.score, reason.points);
    }
    const tier = forced ?? chooseTier(config, score);
    if (forcedTier) reasons.push({ feature: 'forced_tier', points: 0, detail: `tier ${forcedTier} chosen by the go command` });
    return { score, tier: tier.name, strategy: strategyOf(tier, this.tiers.agentModels()), reasons };
  }

  /** The refiner promises not to throw; should it anyway, the FR is still routed on the heuristic. */
  private async refine(request: Parameters<ScoreRefiner['refine']>[0]): Promise<ScoreReasonDto> {
    try {
      return await this.refiner.refine(request);
    } catch (err) {
      return {
        feature: 'model',
        points: 0,
        detail: `model refinement failed (${request.model}): ${err instanceof Error ? err.message : String(err)}; heuristic score kept`,
      };
    }
  }
}
