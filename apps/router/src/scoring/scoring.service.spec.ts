import { sampleFr } from '@agency/contracts/testing';
import { parseAgencyConfig } from '@agency/vault';
import { chooseTier, filesMentioned, scoreFr, ScoringService, strategyOf, WEIGHTS } from './scoring.service.js';
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
    expect(unknown.reasons.at(-1)).toEqual({ feature: 'repo_size', points: 0, detail: 'repository size not known yet (recorded when a plan of this repository lists its files)' });
    const known = scoreFr(sampleFr(), { fileCount: 1000, sizeBytes: 1, baseSha: 'abcdef0123456789'.repeat(2) });
    expect(known.reasons.at(-1)).toEqual({ feature: 'repo_size', points: 15, detail: '1000 files in the repository at abcdef012345' });
    expect(known.score).toBe(unknown.score + 15);
    expect(scoreFr(sampleFr(), { fileCount: 10, sizeBytes: 1 }).reasons.at(-1)).toEqual({ feature: 'repo_size', points: 5, detail: '10 files in the repository' });
  });

  it('caps each feature and the total', () => {
    const fr = { ...sampleFr(), phases: Array.from({ length: 20 }, (_, i) => `phase ${i}`), acceptanceCriteria: Array.from({ length: 50 }, () => 'x'), body: 'x'.repeat(100_000), dependsOn: ['FR-1', 'FR-2', 'FR-3'] };
    const { score, reasons } = scoreFr(fr, { fileCount: 10_000_000, sizeBytes: 1 });
    const points = Object.fromEntries(reasons.map((r) => [r.feature, r.points]));
    expect(points).toMatchObject({ phases: WEIGHTS.phase.cap, acceptance_criteria: WEIGHTS.criterion.cap, spec_length: WEIGHTS.specChars.cap, dependencies: WEIGHTS.dependency.cap, repo_size: WEIGHTS.repoFilesLog10.cap });
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
    expect(strategyOf(config.tiers[1]!, AGENTS)).toEqual({ tier: 'large', plannerModel: 'p2', coderModel: 'c2', reviewerModel: 'r2', reviewRounds: 2, planApproval: true, autoMerge: false, budgetUsd: 20, sandbox: { memoryMb: 2048, cpus: 2 } });
    // A role the tier leaves out runs on its agent file's model.
    const partial = parseAgencyConfig(`
repos: { a/b: { forge: github, url: https://example.com/a/b.git, test: npm test } }
tiers:
  - { name: cheap, max_score: 100, models: { coder: small-coder } }
`).tiers[0]!;
    expect(strategyOf(partial, AGENTS)).toMatchObject({ plannerModel: 'agent-planner', coderModel: 'small-coder', reviewerModel: 'agent-reviewer' });
    // A tier without sandbox settings leaves the runner's defaults.
    expect(strategyOf(config.tiers[0]!, AGENTS).sandbox).toBeUndefined();
  });

  it('reports score, tier, strategy and reasons together', () => {
    const service = new ScoringService({ current: () => config, agentModels: () => AGENTS } as TierConfigRepository);
    const result = service.score(sampleFr(), undefined, 'large');
    expect(result.tier).toBe('large');
    expect(result.reasons.at(-1)).toEqual({ feature: 'forced_tier', points: 0, detail: 'tier large chosen by the go command' });
  });
});
