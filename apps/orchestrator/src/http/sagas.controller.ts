import { Body, ConflictException, Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { gateOf, type SagaList, type SagaSummary } from '@agency/contracts';
import { GoError, IntakeService } from '../intake/intake.service.js';
import { RefusalRepository } from '../intake/refusal.repository.js';
import type { SagaEvent } from '../saga/saga.machine.js';
import { SagaService } from '../saga/saga.service.js';
import { totalCostUsd, type SagaRecord } from '../saga/saga.model.js';
import { SagaRepository } from '../saga/saga.repository.js';
import { SagaIndexRepository } from '../saga/saga-index.repository.js';
import { OrchestratorConfig } from '../orchestrator.config.js';

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
    costUsd: totalCostUsd(r),
    traceId: r.traceId,
    ...(r.failure ? { failure: `${r.failure.code}: ${r.failure.reason}` } : {}),
    updatedAt: r.updatedAt,
  };
}

export interface ActionBody {
  by?: string;
  comment?: string;
  reason?: string;
  gate?: 'plan' | 'pr';
  tier?: string;
}

/** The sagas for the CLI and the dashboard: read them, and steer them. */
@Controller('sagas')
export class SagasController {
  constructor(
    private readonly sagas: SagaRepository,
    private readonly saga: SagaService,
    private readonly intake: IntakeService,
    private readonly refusals: RefusalRepository,
    private readonly index: SagaIndexRepository,
    private readonly config: OrchestratorConfig,
  ) {}

  /**
   * The active runs and the newest finished ones (SAGA_LIST_FINISHED; a listing that read every
   * run finished within the retention took 4 s at 5,000), and the FR files the intake refused or
   * holds (they have no saga, but people must see them).
   */
  @Get()
  async list(): Promise<SagaList> {
    const { ids, notListed } = await this.index.listed(new Date(), this.config.SAGA_RETENTION_HOURS, this.config.SAGA_LIST_FINISHED);
    const [all, refused] = await Promise.all([this.sagas.many(ids), this.refusals.all()]);
    return {
      sagas: all.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(summary),
      refused: refused.sort((a, b) => a.at.localeCompare(b.at)),
      ...(notListed > 0 ? { finishedNotListed: notListed } : {}),
    };
  }

  /** The FR's current run, whole. */
  @Get(':frId')
  async get(@Param('frId') frId: string): Promise<SagaRecord> {
    return this.current(frId);
  }

  @Post(':frId/go')
  @HttpCode(202)
  async go(@Param('frId') frId: string, @Body() body: ActionBody = {}): Promise<{ sagaId: string; outcome: string }> {
    try {
      return await this.intake.go(frId, body.tier ? { tier: body.tier } : {});
    } catch (e) {
      if (e instanceof GoError) throw e.status === 404 ? new NotFoundException(e.message) : new ConflictException(e.message);
      throw e;
    }
  }

  @Post(':frId/approve')
  approve(@Param('frId') frId: string, @Body() body: ActionBody = {}): Promise<SagaSummary> {
    return this.gate(frId, 'approve', body);
  }

  @Post(':frId/reject')
  reject(@Param('frId') frId: string, @Body() body: ActionBody = {}): Promise<SagaSummary> {
    return this.gate(frId, 'reject', body);
  }

  @Post(':frId/cancel')
  async cancel(@Param('frId') frId: string, @Body() body: ActionBody = {}): Promise<SagaSummary> {
    const r = await this.current(frId);
    return this.apply({
      kind: 'cancel',
      env: { sagaId: r.sagaId, step: r.step, attempt: r.attempt },
      by: body.by ?? 'cli',
      reason: body.reason ?? 'no reason given',
    });
  }

  @Post(':frId/retry')
  async retry(@Param('frId') frId: string, @Body() body: ActionBody = {}): Promise<SagaSummary> {
    const r = await this.current(frId);
    return this.apply({ kind: 'retry', env: { sagaId: r.sagaId, step: r.step, attempt: r.attempt }, by: body.by ?? 'cli' });
  }

  private async gate(frId: string, kind: 'approve' | 'reject', body: ActionBody): Promise<SagaSummary> {
    const r = await this.current(frId);
    const gate = body.gate ?? gateOf(r.state) ?? 'pr';
    const env = {
      id: crypto.randomUUID(),
      type: `orchestrator.${kind}`,
      version: 1,
      frId: r.frId,
      sagaId: r.sagaId,
      step: r.step,
      attempt: r.attempt,
      occurredAt: new Date().toISOString(),
      payload: { gate, by: body.by ?? 'cli', ...(body.comment ? { comment: body.comment } : {}) },
    };
    return this.apply({ kind, env });
  }

  /** Runs a person's action through the saga; an action the state does not allow is a 409 that says why. */
  private async apply(event: SagaEvent): Promise<SagaSummary> {
    const result = await this.saga.handle(event);
    if (result.ignored || !result.record) throw new ConflictException(result.ignored ?? 'not applied');
    return summary(result.record);
  }

  private async current(frId: string): Promise<SagaRecord> {
    const saga = await this.sagas.currentOf(frId);
    if (saga) return saga.value;
    const refused = await this.refusals.get(frId);
    if (refused)
      throw new NotFoundException(
        `no saga for ${frId}: the intake ${refused.code === 'DEPENDENCY_UNKNOWN' ? 'holds' : 'refused'} it (${refused.code}): ${refused.reason} (file: ${refused.now})`,
      );
    throw new NotFoundException(`no saga for ${frId}: the agency has not taken it (is its file in 10_features/03_planned?)`);
  }
}
