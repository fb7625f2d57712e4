import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock, RevisionConflictError, type Versioned } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { OrchestratorConfig } from '../orchestrator.config.js';
import { VaultRepository } from '../vault/vault.repository.js';
import { EffectInterpreter } from './effect-interpreter.service.js';
import { decide, isTerminal, type MachineSettings, type SagaEvent } from './saga.machine.js';
import { SagaIndexRepository } from './saga-index.repository.js';
import type { SagaRecord } from './saga.model.js';
import { SagaRepository } from './saga.repository.js';

/**
 * Applies events to sagas: the outbox a crash may have left is carried out first, then the
 * machine decides, the next record (with the decision's effects in its outbox) is written by
 * compare-and-set, and the interpreter carries the effects out.
 */
@Injectable()
export class SagaService {
  constructor(
    private readonly sagas: SagaRepository,
    private readonly index: SagaIndexRepository,
    private readonly interpreter: EffectInterpreter,
    private readonly vault: VaultRepository,
    private readonly clock: Clock,
    private readonly config: OrchestratorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  settings(): MachineSettings {
    const approval = this.vault.config().approval;
    return {
      now: this.clock.now(),
      stepMaxAttempts: this.config.STEP_MAX_ATTEMPTS,
      retryBackoffMs: this.config.STEP_RETRY_BACKOFF_MS,
      autoMergeAllowed: approval.merge === 'auto',
      autoMergeMinConfidence: approval.auto_merge_min_confidence,
      keepBranches: this.config.KEEP_STOPPED_BRANCHES,
    };
  }

  /** Applies an event; returns the saga after it, or why it was ignored. */
  async handle(event: SagaEvent): Promise<{ record?: SagaRecord; ignored?: string }> {
    const sagaId = event.env.sagaId;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const stored = await this.sagas.get(sagaId);
      if (!stored) {
        this.logger.warn({ sagaId, event: event.kind }, 'event for an unknown saga ignored');
        return { ignored: `no saga ${sagaId}` };
      }
      const current = await this.interpreter.flush(stored);
      const decision = decide(current.value, event, this.settings());
      if (decision.kind === 'ignore') {
        this.logger.debug({ sagaId, event: event.kind, reason: decision.reason }, 'event ignored');
        return { record: current.value, ignored: decision.reason };
      }
      // The index holds every active saga: a stopped one that starts again is listed before it is.
      if (isTerminal(current.value.state) && !isTerminal(decision.next.state)) await this.index.activate(sagaId, this.clock.now());
      let revision: number;
      try {
        revision = await this.sagas.update(decision.next, current.revision);
      } catch (e) {
        if (e instanceof RevisionConflictError) continue;
        throw e;
      }
      return { record: (await this.interpreter.flush({ value: decision.next, revision })).value };
    }
    throw new RevisionConflictError('agency-sagas', sagaId);
  }

  /** Carries out what a saga's outbox still holds (a crash, a retry's time come). */
  flush(current: Versioned<SagaRecord>): Promise<Versioned<SagaRecord>> {
    return this.interpreter.flush(current);
  }

  traceUrl(record: SagaRecord): string | undefined {
    return this.interpreter.traceUrl(record);
  }
}
