import type { ScoreReasonDto } from '@agency/contracts';
import { sampleFr } from '@agency/contracts/testing';
import { parseAgencyConfig, type AgencyConfig } from '@agency/vault';
import { chooseTier, filesMentioned, refinedScore, scoreFr, ScoringService, strategyOf, WEIGHTS } from './scoring.service.js';
import type { RefineRequest, ScoreRefiner } from './score-refiner.js';
import type { TierConfigRepository } from '../vault/tier-config.repository.js';

const config = parseAgencyConfig(`
repos: { a/b: { forge: github, url: https://example.com/a/b.git, test: npm test } }
tiers:
  - { name: large, max_score: 100, models: { planner: p2, coder: c2, reviewer: r2 }, plan_approval: true, budget_usd: 20, sandbox: { memory_mb: 2048, cpus: 2 } }
  - { name: small, max_score: 30, models: { planner: p, coder: c, reviewer: r }, review_rounds: 1 }
`);

const AGENTS = { planner: 'agent-planner', coder: 'agent-coder', reviewer: 'agent-reviewer' };

describe('scoreFr', () => {
  it('scores a small FR low, with a reason per feature', () => {
    const { score, reasons } = scoreFr(sampleFr());
    expect(reasons.map((r) => r.feature)).toEqual(['phases', 'acceptance_criteria', 'spec_length', 'dependencies', 'files_touched', 'repo_size']);
    expect(score).toBe(reasons.reduce((s, r) => s + r.points, 0));
    expect(score).toBeLessThan(30);
  });

  it('scores repository size from its file count, and says when it is not known yet', () => {
    const unknown = scoreFr(sampleFr());
    expect(unknown.reasons.at(-1)).toEqual({
      feature: 'repo_size',
      points: 0,
      detail: 'repository size not known yet (recorded when a plan of this repository lists its files)',
    });
    const known = scoreFr(sampleFr(), { fileCount: 1000, sizeBytes: 1, baseSha: 'abcdef0123456789'.repeat(2) });
    expect(known.reasons.at(-1)).toEqual({ feature: 'repo_size', points: 15, detail: '1000 files in the repository at abcdef012345' });
    expect(known.score).toBe(unknown.score + 15);
    expect(scoreFr(sampleFr(), { fileCount: 10, sizeBytes: 1 }).reasons.at(-1)).toEqual({
      feature: 'repo_size',
      points: 5,
      detail: '10 files in the repository',
    });
  });

  it('caps each feature and the total', () => {
    const fr = {
      ...sampleFr(),
      phases: Array.from({ length: 20 }, (_, i) => `phase ${i}`),
      acceptanceCriteria: Array.from({ length: 50 }, () => 'x'),
      body: 'x'.repeat(100_000),
      dependsOn: ['FR-1', 'FR-2', 'FR-3'],
    };
    const { score, reasons } = scoreFr(fr, { fileCount: 10_000_000, sizeBytes: 1 });
    const points = Object.fromEntries(reasons.map((r) => [r.feature, r.points]));
    expect(points).toMatchObject({
      phases: WEIGHTS.phase.cap,
      acceptance_criteria: WEIGHTS.criterion.cap,
      spec_length: WEIGHTS.specChars.cap,
      dependencies: WEIGHTS.dependency.cap,
      repo_size: WEIGHTS.repoFilesLog10.cap,
    });
    expect(score).toBeLessThanOrEqual(100);
  });

  it('counts the files an FR names', () => {
    expect(filesMentioned('Change `src/a.ts` and src/b/c.js, not https://x or v1.2.')).toEqual(['src/a.ts', 'src/b/c.js']);
  });
});

describe('tier choice', () => {
  it('takes the first tier whose max score covers the FR', () => {
    expect(chooseTier(config, 12).name).toBe('small');
    expect(chooseTier(config, 31).name).toBe('large');
  });

  it('honours a forced tier and refuses an unknown one by name', () => {
    expect(chooseTier(config, 99, 'small').name).toBe('small');
    expect(() => chooseTier(config, 1, 'huge')).toThrow('tier "huge" is not defined; tiers are: small, large');
  });

  it('turns a tier into the strategy the saga carries', () => {
    expect(strategyOf(config.tiers[1]!, AGENTS)).toEqual({
      tier: 'large',
      plannerModel: 'p2',
      coderModel: 'c2',
      reviewerModel: 'r2',
      reviewRounds: 2,
      planApproval: true,
      autoMerge: false,
      budgetUsd: 20,
      sandbox: { memoryMb: 2048, cpus: 2 },
    });
    // A role the tier leaves out runs on its agent file's model.
    const partial = parseAgencyConfig(`
repos: { a/b: { forge: github, url: https://example.com/a/b.git, test: npm test } }
tiers:
  - { name: cheap, max_score: 100, models: { coder: small-coder } }
`).tiers[0]!;
    expect(strategyOf(partial, AGENTS)).toMatchObject({ plannerModel: 'agent-planner', coderModel: 'small-coder', reviewerModel: 'agent-reviewer' });
    const none = parseAgencyConfig(`
repos: { a/b: { forge: github, url: https://example.com/a/b.git, test: npm test } }
tiers:
  - { name: plain, max_score: 100 }
`).tiers[0]!;
    expect(strategyOf(none, AGENTS)).toMatchObject({ plannerModel: 'agent-planner', coderModel: 'agent-coder', reviewerModel: 'agent-reviewer' });
    // A tier without sandbox settings leaves the runner's defaults.
    expect(strategyOf(config.tiers[0]!, AGENTS).sandbox).toBeUndefined();
  });

  it('reports score, tier, strategy and reasons together', async () => {
    const refiner = new FakeRefiner();
    const service = new ScoringService({ current: () => config, agentModels: () => AGENTS } as TierConfigRepository, refiner);
    const result = await service.score(sampleFr(), undefined, 'large');
    expect(result.tier).toBe('large');
    expect(result.reasons.at(-1)).toEqual({ feature: 'forced_tier', points: 0, detail: 'tier large chosen by the go command' });
    // No routing.refine_model: no model is asked.
    expect(refiner.requests).toEqual([]);
    expect(result.reasons.map((r) => r.feature)).not.toContain('model');
  });
});

class FakeRefiner implements ScoreRefiner {
  readonly requests: RefineRequest[] = [];
  constructor(private readonly answer: ScoreReasonDto | Error = { feature: 'model', points: 0, detail: 'fake: right' }) {}
  async refine(request: RefineRequest): Promise<ScoreReasonDto> {
    this.requests.push(request);
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

describe('model refinement', () => {
  const refining = parseAgencyConfig(`
repos: { a/b: { forge: github, url: https://example.com/a/b.git, test: npm test } }
routing: { refine_model: router-check, max_adjustment: 20 }
tiers:
  - { name: small, max_score: 15, models: { coder: c }, budget_usd: 2 }
  - { name: medium, max_score: 70, models: { coder: c }, budget_usd: 10 }
  - { name: large, max_score: 100, models: { coder: c }, budget_usd: 25 }
`);
  const heuristic = scoreFr(sampleFr()).score;
  const serviceWith = (refiner: ScoreRefiner, cfg: AgencyConfig = refining) =>
    new ScoringService({ current: () => cfg, agentModels: () => AGENTS } as TierConfigRepository, refiner);
  const ctx = { frId: 'FR-1', sagaId: 'FR-1-r1', step: 'score' };

  it('moves the score by the adjustment and picks the tier from the refined score', async () => {
    expect(heuristic).toBeLessThanOrEqual(15);
    const refiner = new FakeRefiner({ feature: 'model', points: 12, detail: 'router-check: touches auth' });
    const result = await serviceWith(refiner).score(sampleFr(), undefined, undefined, ctx);

    expect(result.score).toBe(refinedScore(heuristic, 12));
    expect(result.score).toBeGreaterThan(15);
    expect(result.tier).toBe('medium');
    expect(result.strategy.budgetUsd).toBe(10);
    expect(result.reasons.at(-1)).toEqual({ feature: 'model', points: 12, detail: 'router-check: touches auth' });
    // The model sees the heuristic's score and reasons; the call is the FR's, bounded by the heuristic tier's budget.
    expect(refiner.requests).toHaveLength(1);
    expect(refiner.requests[0]).toMatchObject({ model: 'router-check', maxAdjustment: 20, heuristic: scoreFr(sampleFr()), ctx: { ...ctx, frBudgetUsd: 2 } });
  });

  it('keeps the refined score within 0-100', async () => {
    expect(refinedScore(95, 15)).toBe(100);
    expect(refinedScore(4.2, -15)).toBe(0);
    expect(refinedScore(9.1, 12)).toBe(21.1);
    const down = await serviceWith(new FakeRefiner({ feature: 'model', points: -20, detail: 'router-check: trivial' })).score(sampleFr());
    expect(down).toMatchObject({ score: 0, tier: 'small' });
    const big = {
      ...sampleFr(),
      phases: Array.from({ length: 10 }, (_, i) => `phase ${i}`),
      acceptanceCriteria: Array.from({ length: 10 }, () => 'x'),
      body: 'x'.repeat(10_000),
      dependsOn: ['FR-2', 'FR-3'],
    };
    const up = await serviceWith(new FakeRefiner({ feature: 'model', points: 20, detail: 'router-check: hard' })).score(big, {
      fileCount: 100_000,
      sizeBytes: 1,
    });
    expect(scoreFr(big, { fileCount: 100_000, sizeBytes: 1 }).score).toBeGreaterThan(80);
    expect(up).toMatchObject({ score: 100, tier: 'large' });
  });

  it('a forced tier still wins over the refined score', async () => {
    const refiner = new FakeRefiner({ feature: 'model', points: 20, detail: 'router-check: hard' });
    const result = await serviceWith(refiner).score(sampleFr(), undefined, 'small');
    expect(result.tier).toBe('small');
    expect(result.score).toBe(refinedScore(heuristic, 20));
    expect(result.reasons.slice(-2).map((r) => r.feature)).toEqual(['model', 'forced_tier']);
    // The call is bounded by the forced tier's budget.
    expect(refiner.requests[0]!.ctx.frBudgetUsd).toBe(2);
  });

  it('refuses an unknown forced tier before asking any model', async () => {
    const refiner = new FakeRefiner();
    await expect(serviceWith(refiner).score(sampleFr(), undefined, 'huge')).rejects.toThrow('tier "huge" is not defined');
    expect(refiner.requests).toEqual([]);
  });

  it('keeps the heuristic score and tier when the refiner says it could not refine', async () => {
    const failed = { feature: 'model', points: 0, detail: 'model refinement failed (router-check): Request timed out.; heuristic score kept' };
    const result = await serviceWith(new FakeRefiner(failed)).score(sampleFr());
    expect(result).toMatchObject({ score: heuristic, tier: 'small' });
    expect(result.reasons.at(-1)).toEqual(failed);
  });

  it('keeps the heuristic score when a refiner throws after all', async () => {
    const result = await serviceWith(new FakeRefiner(new Error('boom'))).score(sampleFr());
    expect(result).toMatchObject({ score: heuristic, tier: 'small' });
    expect(result.reasons.at(-1)).toEqual({ feature: 'model', points: 0, detail: 'model refinement failed (router-check): boom; heuristic score kept' });
  });
});
