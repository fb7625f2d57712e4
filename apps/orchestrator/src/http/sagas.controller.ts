import { Body, ConflictException, Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import type { SagaSummary } from '@agency/contracts';
import { GoError, IntakeService } from '../intake/intake.service.js';
import type { SagaEvent } from '../saga/saga.machine.js';
import { SagaService } from '../saga/saga.service.js';
import type { SagaRecord } from '../saga/saga.model.js';
import { SagaRepository } from '../saga/saga.repository.js';

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
  ) {}

  @Get()
  async list(): Promise<{ sagas: SagaSummary[] }> {
    const all = await this.sagas.all();
    return { sagas: all.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(summary) };
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
    return this.apply({ kind: 'cancel', env: { sagaId: r.sagaId, step: r.step, attempt: r.attempt }, by: body.by ?? 'cli', reason: body.reason ?? 'no reason given' });
  }

  @Post(':frId/retry')
  async retry(@Param('frId') frId: string, @Body() body: ActionBody = {}): Promise<SagaSummary> {
    const r = await this.current(frId);
    return this.apply({ kind: 'retry', env: { sagaId: r.sagaId, step: r.step, attempt: r.attempt }, by: body.by ?? 'cli' });
  }

  private async gate(frId: string, kind: 'approve' | 'reject', body: ActionBody): Promise<SagaSummary> {
    const r = await this.current(frId);
    const gate = body.gate ?? (r.state === 'awaiting-plan-approval' ? 'plan' : 'pr');
    const env = { id: crypto.randomUUID(), type: `orchestrator.${kind}`, version: 1, frId: r.frId, sagaId: r.sagaId, step: r.step, attempt: r.attempt, occurredAt: new Date().toISOString(), payload: { gate, by: body.by ?? 'cli', ...(body.comment ? { comment: body.comment } : {}) } };
    return this.apply({ kind, env });
  }

  /** Runs a person's action through the saga; an action the state does not allow is a 409 that says why. */
  private async apply(event: SagaEvent): Promise<SagaSummary> {
    const result = await this.saga.handle(event);
    if (result.ignored || !result.record) throw new ConflictException(result.ignored ?? 'not applied');
    return summary(result.record);
  }

  private async current(frId: string): Promise<SagaRecord> {
    const index = await this.sagas.currentRun(frId);
    const saga = index ? await this.sagas.get(index.value.sagaId) : undefined;
    if (!saga) throw new NotFoundException(`no saga for ${frId}: the agency has not taken it (is its file in 10_features/03_planned?)`);
    return saga.value;
  }
}
