import type { AnyMessageDef, Envelope, FrScoredEvent, RepoStatsRecord, ScoreReasonDto } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { createLogger } from '@agency/telemetry';
import { parseAgencyConfig } from '@agency/vault';
import type { TierConfigRepository } from '../vault/tier-config.repository.js';
import type { RefineRequest, ScoreRefiner } from './score-refiner.js';
import { ScoreHandler } from './score.handler.js';
import { ScoringService } from './scoring.service.js';

const yaml = (routing = '') => `
repos: { example/greeter: { forge: local, url: /tmp/greeter.git, test: npm test } }
${routing}
tiers:
  - { name: small, max_score: 30, models: { planner: p, coder: c, reviewer: r } }
  - { name: large, max_score: 100, models: { planner: p2, coder: c2, reviewer: r2 } }
`;

class FakeRefiner implements ScoreRefiner {
  readonly requests: RefineRequest[] = [];
  async refine(request: RefineRequest): Promise<ScoreReasonDto> {
    this.requests.push(request);
    return { feature: 'model', points: 25, detail: `${request.model}: touches auth` };
  }
}

class FakeReader {
  readonly asked: string[] = [];
  readonly records = new Map<string, RepoStatsRecord>();
  failWith?: Error;
  async get(repo: string): Promise<RepoStatsRecord | undefined> {
    this.asked.push(repo);
    if (this.failWith) throw this.failWith;
    return this.records.get(repo);
  }
}

function fixtures(config = parseAgencyConfig(yaml())) {
  const replies: FrScoredEvent[] = [];
  const bus = {
    async reply(_env: Envelope<unknown>, _def: AnyMessageDef, payload: unknown) {
      replies.push(payload as FrScoredEvent);
    },
  };
  const reader = new FakeReader();
  const warnings: string[] = [];
  const logger = createLogger({ service: 'test', level: 'silent' });
  logger.warn = ((_fields: unknown, message: string) => void warnings.push(message)) as typeof logger.warn;
  const refiner = new FakeRefiner();
  const tiers = { current: () => config, agentModels: () => ({ planner: 'planner', coder: 'coder', reviewer: 'reviewer' }) } as TierConfigRepository;
  const handler = new ScoreHandler(new ScoringService(tiers, refiner), bus as never, reader, logger);
  const repoSize = () => replies.at(-1)!.reasons.find((r) => r.feature === 'repo_size');
  return { handler, reader, replies, warnings, repoSize, refiner };
}

describe('ScoreHandler', () => {
  it('scores repo_size from the stats the runner recorded for the FR repository', async () => {
    const { handler, reader, repoSize } = fixtures();
    reader.records.set('example/greeter', { fileCount: 100, sizeBytes: 5000, baseSha: 'b'.repeat(40), at: '2026-01-02T03:04:05.000Z' });

    await handler.score(sampleEnvelope('ScoreFr'));

    expect(reader.asked).toEqual(['example/greeter']);
    expect(repoSize()).toEqual({ feature: 'repo_size', points: 10, detail: `100 files in the repository at ${'b'.repeat(12)}` });
  });

  it('says the size is not known for the first FR of a repository', async () => {
    const { handler, repoSize } = fixtures();
    await handler.score(sampleEnvelope('ScoreFr'));
    expect(repoSize()).toMatchObject({ points: 0, detail: expect.stringContaining('not known yet') });
  });

  it('prefers stats carried by the command over the recorded ones', async () => {
    const { handler, reader, repoSize } = fixtures();
    reader.records.set('example/greeter', { fileCount: 100, sizeBytes: 5000, baseSha: 'b'.repeat(40), at: '2026-01-02T03:04:05.000Z' });
    const env = sampleEnvelope('ScoreFr');
    env.payload.repoStats = { fileCount: 10, sizeBytes: 1 };

    await handler.score(env);

    expect(reader.asked).toEqual([]);
    expect(repoSize()).toEqual({ feature: 'repo_size', points: 5, detail: '10 files in the repository' });
  });

  it("refines the score with the model, in the command's FR, saga and step", async () => {
    const { handler, replies, refiner } = fixtures(parseAgencyConfig(yaml('routing: { refine_model: router-check }')));
    const env = sampleEnvelope('ScoreFr', { jobId: 'job-FR-1-r1' });

    await handler.score(env);

    expect(refiner.requests).toHaveLength(1);
    expect(refiner.requests[0]!.ctx).toEqual({ frId: env.frId, sagaId: env.sagaId, step: env.step, jobId: 'job-FR-1-r1', frBudgetUsd: 5 });
    expect(refiner.requests[0]!.maxAdjustment).toBe(15);
    const heuristic = replies[0]!.reasons.filter((r) => r.feature !== 'model').reduce((s, r) => s + r.points, 0);
    expect(replies[0]!.score).toBeCloseTo(heuristic + 25, 5);
    expect(replies[0]!.tier).toBe('large');
    expect(replies[0]!.reasons.at(-1)).toEqual({ feature: 'model', points: 25, detail: 'router-check: touches auth' });
  });

  it('asks no model when agency.yaml names none', async () => {
    const { handler, replies, refiner } = fixtures();
    await handler.score(sampleEnvelope('ScoreFr'));
    expect(refiner.requests).toEqual([]);
    expect(replies[0]!.tier).toBe('small');
  });

  it('scores without repo_size when the record cannot be read, and logs it', async () => {
    const { handler, reader, replies, warnings, repoSize } = fixtures();
    reader.failWith = new Error('TIMEOUT');

    await handler.score(sampleEnvelope('ScoreFr'));

    expect(replies).toHaveLength(1);
    expect(repoSize()).toMatchObject({ points: 0 });
    expect(warnings).toEqual(['repository stats not read; scoring without repo_size']);
  });
});
