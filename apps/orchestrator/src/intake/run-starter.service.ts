import { Inject, Injectable } from '@nestjs/common';
import type { RepoTargetDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import { traceparentOf, tracer, type AgencyPinoLogger } from '@agency/telemetry';
import type { ParsedFr } from '@agency/vault';
import { EffectInterpreter } from '../saga/effect-interpreter.service.js';
import { isTerminal, startEffects } from '../saga/saga.machine.js';
import { SagaIndexRepository } from '../saga/saga-index.repository.js';
import { totalCostUsd, type SagaRecord } from '../saga/saga.model.js';
import { SagaRepository } from '../saga/saga.repository.js';
import { SagaService } from '../saga/saga.service.js';
import { RefusalRepository } from './refusal.repository.js';

/**
 * Starts a run of an FR whose file passed the intake's checks: claims the run (create-once),
 * lists the saga as active before it exists, stores it with its first effects in the outbox
 * (the FR file taken, the route command, an earlier run's PR and branch cleaned off the forge)
 * and carries them out.
 */
@Injectable()
export class RunStarter {
  constructor(
    private readonly sagas: SagaRepository,
    private readonly index: SagaIndexRepository,
    private readonly saga: SagaService,
    private readonly interpreter: EffectInterpreter,
    private readonly refusals: RefusalRepository,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async start(relPath: string, fr: ParsedFr, repo: RepoTargetDto, go?: { tier?: string }): Promise<'started' | 'resumed' | 'busy'> {
    const index = await this.sagas.currentRun(fr.id);
    const earlier = index ? await this.sagas.get(index.value.sagaId) : undefined;
    if (earlier && !isTerminal(earlier.value.state)) {
      const r = earlier.value;
      if (r.frPath === relPath) {
        // The saga never moved its file: a crash between claiming and moving. Carry on.
        await this.interpreter.syncFr((await this.saga.flush(earlier)).value);
        return 'resumed';
      }
      // A person moved a running FR back to planned: that run stops, a new one starts with the file as it is now.
      await this.saga.handle({
        kind: 'cancel',
        env: { sagaId: r.sagaId, step: r.step, attempt: r.attempt },
        by: 'vault',
        reason: 'the FR file was moved back to 03_planned',
      });
    }
    // A claim whose saga was never written (a crash in between) is taken up again, not claimed anew.
    const unwritten = index !== undefined && !earlier && !index.value.archived;
    const run = unwritten ? index.value.run : (index?.value.run ?? 0) + 1;
    const sagaId = `${fr.id}-r${run}`;
    if (!unwritten && !(await this.sagas.claimRun({ frId: fr.id, sagaId, run }, index?.revision))) return 'busy';
    const previous = earlier?.value.sagaId ?? (unwritten && run > 1 ? `${fr.id}-r${run - 1}` : undefined);
    const before = previous ? (await this.sagas.get(previous))?.value : undefined;
    const record = this.newRecord(go ? { ...fr, priority: 'critical' } : fr, repo, sagaId, run, before);
    if (go?.tier) record.forcedTier = go.tier;
    record.outbox = startEffects(record, before, `taken by the agency (run ${run}, trace ${this.saga.traceUrl(record) ?? record.traceId})`);
    await this.index.activate(sagaId, this.clock.now());
    if (!(await this.sagas.create(record))) return 'busy';
    await this.refusals.clear(fr.id);
    this.logger.info({ frId: fr.id, sagaId, traceId: record.traceId }, `${fr.id} taken: "${fr.title}"`);
    const stored = await this.sagas.get(sagaId);
    if (stored) await this.saga.flush(stored);
    return 'started';
  }

  private newRecord(fr: ParsedFr, repo: RepoTargetDto, sagaId: string, run: number, earlier: SagaRecord | undefined): SagaRecord {
    const now = this.clock.now().toISOString();
    // The FR's root span, ended at once: it is the parent every step of the FR hangs under.
    const root = tracer().startSpan(`FR ${fr.id}`, {
      root: true,
      attributes: { 'agency.fr_id': fr.id, 'agency.saga_id': sagaId, 'agency.fr_title': fr.title, 'agency.repo': fr.repo },
    });
    const traceparent = traceparentOf(root);
    const traceId = root.spanContext().traceId;
    root.end();
    const { status: _status, extra, ...snapshot } = fr;
    // What the FR's earlier runs spent: from the last run's record, or (archived) from the file.
    const prior = earlier ? totalCostUsd(earlier) : Number(extra.cost_usd);
    return {
      sagaId,
      frId: fr.id,
      run,
      state: 'discovered',
      step: 'route',
      attempt: 1,
      attemptBase: 1,
      tries: { route: 1 },
      stepStartedAt: now,
      fr: snapshot,
      frPath: fr.path,
      repo,
      traceparent,
      traceId,
      lap: 1,
      round: 0,
      reviews: [],
      lastFindings: [],
      costUsd: 0,
      priorCostUsd: Number.isFinite(prior) && prior > 0 ? prior : 0,
      usageIds: [],
      history: [],
      seq: 0,
      outbox: [],
      createdAt: now,
      updatedAt: now,
    };
  }
}
