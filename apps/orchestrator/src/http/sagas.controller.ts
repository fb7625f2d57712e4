import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import type { SagaRecord } from '../saga/saga.model.js';
import { SagaRepository } from '../saga/saga.repository.js';

export interface SagaSummary {
  frId: string;
  sagaId: string;
  title: string;
  state: string;
  step: string;
  attempt: number;
  round: number;
  tier?: string;
  prUrl?: string;
  costUsd: number;
  traceId: string;
  failure?: string;
  updatedAt: string;
}

function summary(r: SagaRecord): SagaSummary {
  return {
    frId: r.frId,
    sagaId: r.sagaId,
    title: r.fr.title,
    state: r.state,
    step: r.step,
    attempt: r.attempt,
    round: r.round,
    ...(r.strategy ? { tier: r.strategy.tier } : {}),
    ...(r.pr ? { prUrl: r.pr.url } : {}),
    costUsd: r.costUsd,
    traceId: r.traceId,
    ...(r.failure ? { failure: `${r.failure.code}: ${r.failure.reason}` } : {}),
    updatedAt: r.updatedAt,
  };
}

/** Read-only view of the sagas for the CLI and the dashboard. */
@Controller('sagas')
export class SagasController {
  constructor(private readonly sagas: SagaRepository) {}

  @Get()
  async list(): Promise<{ sagas: SagaSummary[] }> {
    const all = await this.sagas.all();
    return { sagas: all.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(summary) };
  }

  /** The FR's current run, whole. */
  @Get(':frId')
  async get(@Param('frId') frId: string): Promise<SagaRecord> {
    const index = await this.sagas.currentRun(frId);
    const saga = index ? await this.sagas.get(index.value.sagaId) : undefined;
    if (!saga) throw new NotFoundException(`no saga for ${frId}`);
    return saga.value;
  }
}
