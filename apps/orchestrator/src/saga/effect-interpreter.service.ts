import { Inject, Injectable } from '@nestjs/common';
import { Messages, type AnyMessageDef, type PayloadOf } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, Clock, type Versioned } from '@agency/messaging';
import { contextFromTraceparent, runWithMessageContext, withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import { FR_FOLDERS } from '@agency/vault';
import { OrchestratorConfig } from '../orchestrator.config.js';
import { VaultRepository } from '../vault/vault.repository.js';
import { isDue, type Effect } from './effects.js';
import { draftPrStep, isTerminal } from './machine/decision.js';
import { recordRunSpan } from './run-span.js';
import { SagaIndexRepository } from './saga-index.repository.js';
import { totalCostUsd, type SagaRecord } from './saga.model.js';
import { SagaRepository } from './saga.repository.js';
import { draftPrCommand, folderFor, refreshPrCommand, stepCommand } from './saga.steps.js';

/** The saga's own folders: a file found in one of them under its name was moved by the saga, not by a person. */
const SAGA_FOLDERS = ['inProgress', 'inReview', 'done', 'blocked'] as const;

/**
 * The one place effects are carried out. A saga's outbox is carried out in order from the record
 * that decided it (flushed before the next decision is made), each effect under its id: commands
 * and events are published with it as their Nats-Msg-Id and the FR file remembers the transition
 * it wrote last, so carrying an effect out twice (a crash before the outbox was cleared) repeats
 * nothing. Carried-out effects then leave the outbox by compare-and-set.
 */
@Injectable()
export class EffectInterpreter {
  constructor(
    private readonly sagas: SagaRepository,
    private readonly index: SagaIndexRepository,
    private readonly vault: VaultRepository,
    private readonly bus: BusPublisher,
    private readonly clock: Clock,
    private readonly config: OrchestratorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  traceUrl(record: SagaRecord): string | undefined {
    return this.config.TRACE_URL_TEMPLATE?.replace('{traceId}', record.traceId);
  }

  /** Carries out the due effects of the saga's outbox; returns the record as stored afterwards. */
  async flush(current: Versioned<SagaRecord>): Promise<Versioned<SagaRecord>> {
    const due = current.value.outbox.filter((e) => isDue(e, this.clock.nowMs()));
    let after = current;
    if (due.length > 0) {
      let record = current.value;
      for (const effect of due) record = { ...record, ...(await this.carryOut(record, effect)) };
      const done = new Set(due.map((e) => e.id));
      const moved = record.frPath !== current.value.frPath ? record.frPath : undefined;
      after =
        (await this.sagas.mutate(current.value.sagaId, (r) => ({
          ...r,
          // The file's new path, unless someone recorded another since.
          ...(moved && r.frPath === current.value.frPath ? { frPath: moved } : {}),
          outbox: r.outbox.filter((e) => !done.has(e.id)),
        }))) ?? current;
    }
    if (isTerminal(after.value.state) && after.value.outbox.length === 0) await this.index.finish(after.value.sagaId, this.clock.now());
    return after;
  }

  private async carryOut(record: SagaRecord, effect: Effect): Promise<Partial<SagaRecord>> {
    return this.inRoot(record, `saga.effect ${effect.kind}`, async () => {
      switch (effect.kind) {
        case 'step': {
          const cmd = stepCommand(record, this.traceUrl(record));
          if (cmd) await this.send(record, effect.id, cmd.def, cmd.payload, { step: effect.step, attempt: effect.attempt });
          return {};
        }
        case 'draft-pr': {
          const cmd = draftPrCommand(record, this.traceUrl(record));
          // The lap is the draft's attempt: a retried run's round pushes again instead of meeting its earlier record.
          if (cmd) await this.send(record, effect.id, cmd.def, cmd.payload, { step: draftPrStep(effect.round), attempt: record.lap });
          return {};
        }
        case 'refresh-pr': {
          const cmd = refreshPrCommand(record, this.traceUrl(record));
          // A step of the draft family: its pr-opened result only records the PR, as a draft's does.
          if (cmd) await this.send(record, effect.id, cmd.def, cmd.payload, { step: `${draftPrStep(effect.round)}-cost-${effect.seq}`, attempt: record.lap });
          return {};
        }
        case 'fr-file':
          return this.syncFr(record, effect);
        case 'state-changed':
          await this.send(record, effect.id, Messages.FrStateChanged, {
            from: effect.from,
            to: effect.to,
            costUsd: totalCostUsd(record),
            traceId: record.traceId,
            ...(record.pr ? { prUrl: record.pr.url } : {}),
            ...(record.failure ? { reason: record.failure.reason.slice(0, 5000) } : {}),
          });
          if (isTerminal(effect.to)) recordRunSpan(record, effect.to, totalCostUsd(record), this.clock.now());
          return {};
        case 'complete-job':
          await this.send(
            record,
            effect.id,
            Messages.CompleteJob,
            { outcome: effect.outcome, ...(effect.reason ? { reason: effect.reason } : {}) },
            { step: 'complete', jobId: effect.jobId },
          );
          return {};
        case 'cleanup':
          await this.send(
            record,
            effect.id,
            Messages.Cleanup,
            { reason: effect.reason, ...(effect.cancel ? { cancel: true } : {}) },
            { step: 'cleanup', jobId: effect.jobId },
          );
          return {};
        case 'close-pr':
          await this.send(
            record,
            effect.id,
            Messages.ClosePr,
            { repo: record.repo, number: effect.number, reason: effect.reason, deleteBranch: effect.deleteBranch },
            { step: 'close-pr' },
          );
          return {};
        case 'close-branch':
          await this.send(
            record,
            effect.id,
            Messages.DeleteBranch,
            { repo: record.repo, branch: effect.branch, reason: effect.reason, ...(effect.deleteBranch ? {} : { keepBranch: true }) },
            { step: 'delete-branch' },
          );
          return {};
      }
    });
  }

  private async send<D extends AnyMessageDef>(
    record: SagaRecord,
    id: string,
    def: D,
    payload: PayloadOf<D>,
    at: { step?: string; attempt?: number; jobId?: string } = {},
  ): Promise<void> {
    const jobId = at.jobId ?? record.jobId;
    await this.bus.publish(
      def,
      { frId: record.frId, sagaId: record.sagaId, step: at.step ?? record.step, attempt: at.attempt ?? record.attempt, ...(jobId ? { jobId } : {}), payload },
      { msgId: id },
    );
  }

  /** Where the FR file is now: where the saga left it, or in one of the saga's own folders (a move not yet recorded). */
  private locate(record: SagaRecord): string | undefined {
    if (this.vault.exists(record.frPath)) return record.frPath;
    const name = record.frPath.split('/').pop()!;
    return SAGA_FOLDERS.map((f) => `${FR_FOLDERS[f]}/${name}`).find((p) => this.vault.exists(p));
  }

  /** Moves and annotates the FR file to match the saga; an FR file gone from the vault is logged. */
  async syncFr(record: SagaRecord, effect?: Extract<Effect, { kind: 'fr-file' }>): Promise<Partial<SagaRecord>> {
    // The file belongs to the FR's current run: an older run (cancelled when a person moved the
    // file back to planned) must never move it again.
    if ((await this.sagas.currentRun(record.frId))?.value.sagaId !== record.sagaId) return {};
    const path = this.locate(record);
    if (!path) {
      this.logger.warn({ frPath: record.frPath }, 'FR file is no longer where the saga left it; not moved');
      return {};
    }
    const url = this.traceUrl(record);
    const fields: Record<string, string | number | null> = {
      agency_state: record.state,
      agency_saga: record.sagaId,
      trace_id: record.traceId,
      cost_usd: Math.round(totalCostUsd(record) * 10_000) / 10_000,
      pr: record.pr?.url ?? null,
      blocked_reason: record.failure ? `${record.failure.code}: ${record.failure.reason}`.slice(0, 500) : null,
      ...(url ? { trace_url: url } : {}),
    };
    const line = effect?.log
      ? `${record.state}: ${effect.log}${record.failure && isTerminal(record.state) ? ` (trace ${url ?? record.traceId})` : ''}`
      : undefined;
    const seq = effect ? { seq: { saga: record.sagaId, seq: effect.seq } } : {};
    const moved = this.vault.update(path, { folder: folderFor(record.state), fields, ...(line ? { log: line } : {}), ...seq }, this.clock.now());
    return moved !== record.frPath ? { frPath: moved } : {};
  }

  /** Runs fn in a span under the FR's root span, with the FR's ids on every log line. */
  inRoot<T>(record: SagaRecord, name: string, fn: () => Promise<T>): Promise<T> {
    return runWithMessageContext({ frId: record.frId, sagaId: record.sagaId, ...(record.jobId ? { jobId: record.jobId } : {}), step: record.step }, () =>
      withSpan(
        name,
        {
          parent: contextFromTraceparent(record.traceparent),
          attributes: { 'agency.fr_id': record.frId, 'agency.saga_id': record.sagaId, 'agency.state': record.state, 'agency.step': record.step },
        },
        fn,
      ),
    );
  }
}
