import { Inject, Injectable } from '@nestjs/common';
import { Messages, type SagaState } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, Clock, RevisionConflictError } from '@agency/messaging';
import { contextFromTraceparent, runWithMessageContext, withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import type { FrFolder } from '@agency/vault';
import { OrchestratorConfig } from '../orchestrator.config.js';
import { VaultRepository } from '../vault/vault.repository.js';
import { decide, draftPrStep, isTerminal, type SagaEvent } from './saga.machine.js';
import type { SagaRecord } from './saga.model.js';
import { SagaRepository } from './saga.repository.js';
import { draftPrCommand, stepCommand } from './saga.steps.js';

/** Where an FR file lives for each saga state. */
export function folderFor(state: SagaState): FrFolder {
  switch (state) {
    case 'awaiting-merge':
      return 'inReview';
    case 'done':
      return 'done';
    case 'failed':
    case 'blocked':
    case 'cancelled':
      return 'blocked';
    default:
      return 'inProgress';
  }
}

/**
 * Applies events to sagas: compare-and-set the new state, then act on it (FR file, next command,
 * lifecycle event). Acting is derived from the saved state, so a crash between saving and acting
 * is repaired by acting again (`drive`), which a duplicate event or the sweeper triggers.
 */
@Injectable()
export class SagaService {
  constructor(
    private readonly sagas: SagaRepository,
    private readonly vault: VaultRepository,
    private readonly bus: BusPublisher,
    private readonly clock: Clock,
    private readonly config: OrchestratorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  traceUrl(record: SagaRecord): string | undefined {
    return this.config.TRACE_URL_TEMPLATE?.replace('{traceId}', record.traceId);
  }

  /** Applies an event; returns the saga after it, or why it was ignored. */
  async handle(event: SagaEvent): Promise<{ record?: SagaRecord; ignored?: string }> {
    const sagaId = event.env.sagaId;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const current = await this.sagas.get(sagaId);
      if (!current) {
        this.logger.warn({ sagaId, event: event.kind }, 'event for an unknown saga ignored');
        return { ignored: `no saga ${sagaId}` };
      }
      const approval = this.vault.config().approval;
      const decision = decide(current.value, event, {
        now: this.clock.now(),
        stepMaxAttempts: this.config.STEP_MAX_ATTEMPTS,
        retryBackoffMs: this.config.STEP_RETRY_BACKOFF_MS,
        autoMergeAllowed: approval.merge === 'auto',
        autoMergeMinConfidence: approval.auto_merge_min_confidence,
      });
      if (decision.kind === 'ignore') {
        this.logger.debug({ event: event.kind, reason: decision.reason }, 'event ignored');
        // A redelivered event whose effects may not have happened: act on the saved state again.
        if (decision.duplicate) {
          await this.drive(current.value);
          await this.finish(current.value);
        }
        return { record: current.value, ignored: decision.reason };
      }
      try {
        await this.sagas.update(decision.next, current.revision);
      } catch (e) {
        if (e instanceof RevisionConflictError) continue;
        throw e;
      }
      if (decision.kind === 'transition') await this.act(current.value, decision.next, decision.log);
      return { record: decision.next };
    }
    throw new RevisionConflictError('agency-sagas', sagaId);
  }

  /** Effects of a transition; each is idempotent. */
  private async act(before: SagaRecord, after: SagaRecord, log?: string): Promise<void> {
    await this.syncFr(after, log);
    await this.drive(after);
    if (after.state === 'reviewing' && before.state === 'testing') await this.pushDraftPr(after);
    if (before.state !== after.state) {
      await this.inRoot(after, 'saga.transition', async () => {
        await this.bus.publish(
          Messages.FrStateChanged,
          {
            frId: after.frId,
            sagaId: after.sagaId,
            step: after.step,
            attempt: after.attempt,
            ...(after.jobId ? { jobId: after.jobId } : {}),
            payload: {
              from: before.state,
              to: after.state,
              costUsd: after.costUsd,
              traceId: after.traceId,
              ...(after.pr ? { prUrl: after.pr.url } : {}),
              ...(after.failure ? { reason: after.failure.reason } : {}),
            },
          },
          { msgId: `${after.sagaId}:${before.state}->${after.state}:${after.history.length}` },
        );
      });
      if (!SagaService.isOver(before)) await this.finish(after);
    }
  }

  /** Sends the command the current step waits on (no-op for waiting and terminal states, and for a retry not yet due). */
  async drive(record: SagaRecord): Promise<void> {
    if (record.notBefore && Date.parse(record.notBefore) > this.clock.nowMs()) return;
    const cmd = stepCommand(record, this.traceUrl(record));
    if (!cmd) return;
    await this.inRoot(record, `step ${record.step}`, () =>
      this.bus.publish(cmd.def, {
        frId: record.frId,
        sagaId: record.sagaId,
        step: record.step,
        attempt: record.attempt,
        ...(record.jobId ? { jobId: record.jobId } : {}),
        payload: cmd.payload,
      }),
    );
  }

  private async pushDraftPr(record: SagaRecord): Promise<void> {
    const cmd = draftPrCommand(record, this.traceUrl(record));
    if (!cmd) return;
    await this.inRoot(record, 'draft pr', () =>
      this.bus.publish(cmd.def, { frId: record.frId, sagaId: record.sagaId, step: draftPrStep(record.round), attempt: 1, ...(record.jobId ? { jobId: record.jobId } : {}), payload: cmd.payload }),
    );
  }

  /** Sends a backed-off retry once it is due (the sweeper calls this); the first caller to clear it sends. */
  async releaseRetry(record: SagaRecord): Promise<void> {
    if (!record.notBefore || Date.parse(record.notBefore) > this.clock.nowMs()) return;
    const released = await this.patch(record.sagaId, (r) => {
      if (r.notBefore !== record.notBefore || r.step !== record.step || r.attempt !== record.attempt) return undefined;
      const { notBefore: _due, ...rest } = r;
      return rest;
    });
    if (released) await this.drive(released);
  }

  /** Whether the agency's part of this saga is over (a person or nobody acts next). */
  static isOver(record: SagaRecord): boolean {
    return record.state === 'awaiting-merge' || isTerminal(record.state);
  }

  /**
   * Frees the job's slot and the worktree once the agency's part is over. Idempotent (the
   * registry keeps a job's first outcome; cleanup of a missing worktree is a no-op), and marked
   * done in the saga so the sweeper can repeat it after a crash until it has happened once.
   */
  async finish(record: SagaRecord): Promise<void> {
    if (!SagaService.isOver(record) || record.finished) return;
    const base = { frId: record.frId, sagaId: record.sagaId, attempt: 1, ...(record.jobId ? { jobId: record.jobId } : {}) };
    const outcome = record.state === 'cancelled' ? 'cancelled' : record.state === 'failed' || record.state === 'blocked' ? 'failed' : 'succeeded';
    await this.inRoot(record, 'saga.finish', async () => {
      if (record.state === 'cancelled' && record.jobId) {
        // Reaches a running job: the registry frees its slot, the runner stops work and removes the worktree.
        await this.bus.publish(Messages.CancelJob, { ...base, step: 'cancel', payload: { reason: record.failure?.reason ?? 'cancelled' } });
      }
      if (record.jobId) {
        await this.bus.publish(Messages.CompleteJob, { ...base, step: 'complete', payload: { outcome, ...(record.failure ? { reason: record.failure.reason.slice(0, 2000) } : {}) } });
      }
      // A stopped FR may still have a step running: the runner kills it and refuses later ones.
      const stopped = record.state === 'cancelled' || record.state === 'failed' || record.state === 'blocked';
      await this.bus.publish(Messages.Cleanup, { ...base, step: 'cleanup', payload: { reason: `saga ${record.state}`, ...(stopped ? { cancel: true } : {}) } });
    });
    await this.patch(record.sagaId, (r) => (SagaService.isOver(r) && !r.finished ? { ...r, finished: true } : undefined));
  }

  /** Moves and annotates the FR file to match the saga; an FR file gone from the vault is logged. */
  async syncFr(record: SagaRecord, log?: string): Promise<void> {
    // The file belongs to the FR's current run: an older run (cancelled when a person moved the
    // file back to planned) must never move it again.
    if ((await this.sagas.currentRun(record.frId))?.value.sagaId !== record.sagaId) return;
    if (!this.vault.exists(record.frPath)) {
      this.logger.warn({ frPath: record.frPath }, 'FR file is no longer where the saga left it; not moved');
      return;
    }
    const fields: Record<string, string | number | null> = {
      agency_state: record.state,
      agency_saga: record.sagaId,
      trace_id: record.traceId,
      cost_usd: Math.round(record.costUsd * 10_000) / 10_000,
    };
    if (record.pr) fields.pr = record.pr.url;
    const url = this.traceUrl(record);
    if (url) fields.trace_url = url;
    if (record.failure) fields.blocked_reason = `${record.failure.code}: ${record.failure.reason}`.slice(0, 500);
    const line = log ? `${record.state}: ${log}${record.failure && isTerminal(record.state) ? ` (trace ${url ?? record.traceId})` : ''}` : undefined;
    const path = this.vault.update(record.frPath, { folder: folderFor(record.state), fields, ...(line ? { log: line } : {}) }, this.clock.now());
    if (path !== record.frPath) await this.rememberPath(record.sagaId, path);
  }

  private async rememberPath(sagaId: string, frPath: string): Promise<void> {
    await this.patch(sagaId, (r) => (r.frPath === frPath ? undefined : { ...r, frPath }));
  }

  /** A small compare-and-set change outside the state machine (bookkeeping, not a transition). */
  /** Returns the record written, or undefined when `change` left it as it was. */
  private async patch(sagaId: string, change: (r: SagaRecord) => SagaRecord | undefined): Promise<SagaRecord | undefined> {
    for (let i = 0; i < 10; i += 1) {
      const current = await this.sagas.get(sagaId);
      const next = current && change(current.value);
      if (!current || !next) return undefined;
      try {
        await this.sagas.update(next, current.revision);
        return next;
      } catch (e) {
        if (!(e instanceof RevisionConflictError)) throw e;
      }
    }
    return undefined;
  }

  /** Runs fn in a span under the FR's root span, with the FR's ids on every log line. */
  inRoot<T>(record: SagaRecord, name: string, fn: () => Promise<T>): Promise<T> {
    return runWithMessageContext({ frId: record.frId, sagaId: record.sagaId, ...(record.jobId ? { jobId: record.jobId } : {}), step: record.step }, () =>
      withSpan(name, { parent: contextFromTraceparent(record.traceparent), attributes: { 'agency.fr_id': record.frId, 'agency.saga_id': record.sagaId, 'agency.state': record.state, 'agency.step': record.step } }, fn),
    );
  }
}
