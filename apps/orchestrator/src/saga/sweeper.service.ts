import { hostname } from 'node:os';
import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { Metrics, SERVICE_LOGGER } from '@agency/bootstrap';
import { SAGA_STATES, type SagaState } from '@agency/contracts';
import { BusConnection, Clock, dayOf, daysAfter, Lease } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { FR_FOLDERS } from '@agency/vault';
import { RefusalRepository } from '../intake/refusal.repository.js';
import { OrchestratorConfig } from '../orchestrator.config.js';
import { VaultRepository } from '../vault/vault.repository.js';
import { EffectInterpreter } from './effect-interpreter.service.js';
import { isTerminal } from './saga.machine.js';
import { SagaIndexRepository } from './saga-index.repository.js';
import type { SagaRecord } from './saga.model.js';
import { SagaRepository } from './saga.repository.js';
import { SagaService } from './saga.service.js';
import { folderFor } from './saga.steps.js';

/** States where the saga waits on a person or on the queue: no step clock runs. */
const UNTIMED = new Set(['queued', 'awaiting-plan-approval', 'awaiting-merge']);
const DAY_MS = 24 * 3600_000;
/** Archival looks this often. */
const ARCHIVE_EVERY_MS = 10 * 60_000;

/** Why a step is overdue, or undefined if it is not. */
export function overdue(record: SagaRecord, nowMs: number, quietMs: number, deadlineMs: number): string | undefined {
  if (isTerminal(record.state) || UNTIMED.has(record.state)) return undefined;
  const started = Date.parse(record.stepStartedAt);
  const lastSign = Math.max(started, record.lastHeartbeatAt ? Date.parse(record.lastHeartbeatAt) : 0);
  if (nowMs - started > deadlineMs) return `ran past its ${Math.round(deadlineMs / 1000)} s deadline`;
  if (nowMs - lastSign > quietMs) return `was quiet for ${Math.round((nowMs - lastSign) / 1000)} s`;
  return undefined;
}

/**
 * Tends the active sagas, found through the active index (finished ones are never read): carries
 * out what their outboxes still hold (a crash cut it short, a backed-off retry came due),
 * re-drives overdue steps, follows FR files people moved, and archives runs finished longer ago
 * than the retention. One orchestrator replica sweeps at a time (a KV lease); the saga's
 * compare-and-set makes a sweep racing a late result harmless.
 */
@Injectable()
export class SweeperService implements OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly lease: Lease;
  private running?: Promise<void>;
  private archivedAt = 0;
  private indexed = false;

  constructor(
    private readonly sagas: SagaRepository,
    private readonly index: SagaIndexRepository,
    private readonly saga: SagaService,
    private readonly interpreter: EffectInterpreter,
    private readonly clock: Clock,
    private readonly config: OrchestratorConfig,
    private readonly vault: VaultRepository,
    private readonly refusals: RefusalRepository,
    bus: BusConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    @Optional() private readonly metrics?: Metrics,
  ) {
    const ttl = Math.max(3 * config.SWEEP_INTERVAL_MS, 5000);
    this.lease = new Lease(bus, clock, 'orchestrator', 'sweeper', config.INSTANCE_ID ?? `${hostname()}-${process.pid}`, ttl);
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.SWEEP_INTERVAL_MS);
  }

  /**
   * A store written before the index existed has sagas but no index: it is built once, from one
   * read of every saga (active ones listed, finished ones filed under the day they last changed).
   */
  private async buildIndex(): Promise<void> {
    if (await this.index.built()) return;
    const all = await this.sagas.scanAll();
    for (const r of all) {
      if (isTerminal(r.state) && r.outbox.length === 0) await this.index.finish(r.sagaId, new Date(r.updatedAt));
      else await this.index.activate(r.sagaId, this.clock.now());
    }
    await this.index.markBuilt(this.clock.now());
    this.logger.info({ sagas: all.length }, 'saga index built from the store');
  }

  sweep(): Promise<void> {
    this.running ??= this.sweepOnce()
      .catch((e: Error) => this.logger.error({ err: e }, 'sweep failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(): Promise<void> {
    if (!(await this.lease.acquire())) return;
    if (!this.indexed) {
      // Once per process, by the sweeping replica: a store from before the index gets one (a failure is tried again next sweep).
      await this.buildIndex();
      this.indexed = true;
    }
    const states = new Map<SagaState, number>();
    for (const sagaId of await this.index.active()) {
      // One saga's trouble never stops the sweep of the others.
      const state = await this.tend(sagaId).catch((e: Error) => void this.logger.error({ err: e, sagaId }, 'sweeping a saga failed'));
      if (state) states.set(state, (states.get(state) ?? 0) + 1);
    }
    this.countActive(states);
    await this.archive();
  }

  /**
   * FRs in the agency right now, by state, as the sweeping replica last saw them (read from the
   * active index, never from finished work); a dashboard takes the max over replicas.
   */
  private countActive(states: ReadonlyMap<SagaState, number>): void {
    const gauge = this.metrics?.gauge('agency_frs_active', 'FRs in the agency right now, by state (the sweeping orchestrator replica, every sweep)', ['state']);
    for (const state of SAGA_STATES) if (!isTerminal(state)) gauge?.set({ state }, states.get(state) ?? 0);
  }

  /** Sweeps one active saga; its state when it is still active. */
  private async tend(sagaId: string): Promise<SagaState | undefined> {
    const stored = await this.sagas.get(sagaId);
    if (!stored) return void (await this.index.forget(sagaId));
    const record = (await this.saga.flush(stored)).value;
    if (isTerminal(record.state)) return undefined;
    await this.tendActive(record);
    return record.state;
  }

  private async tendActive(record: SagaRecord): Promise<void> {
    if (this.misplaced(record)) await this.repairFile(record);
    if (await this.followFile(record)) return;
    // A backed-off retry waits in the outbox; its clock starts when it is due.
    if (record.outbox.length > 0) return;
    const why = overdue(record, this.clock.nowMs(), this.config.STEP_QUIET_SECONDS * 1000, this.config.STEP_DEADLINE_SECONDS * 1000);
    if (!why) return;
    this.logger.warn({ frId: record.frId, sagaId: record.sagaId, step: record.step, attempt: record.attempt }, `${record.step} ${why}`);
    await this.saga.handle({ kind: 'timeout', env: { sagaId: record.sagaId, step: record.step, attempt: record.attempt }, reason: why });
  }

  /** The FR file's folder, when a crash cut the saga's move short. */
  private async repairFile(record: SagaRecord): Promise<void> {
    const patch = await this.interpreter.syncFr(record);
    if (patch.frPath) await this.sagas.mutate(record.sagaId, (r) => (r.frPath === record.frPath ? { ...r, frPath: patch.frPath! } : undefined));
  }

  private misplaced(record: SagaRecord): boolean {
    return this.vault.exists(record.frPath) && !record.frPath.startsWith(`${FR_FOLDERS[folderFor(record.state)]}/`);
  }

  /**
   * A running FR's file must stay where the saga put it. Moved elsewhere by a person (or deleted),
   * the run is cancelled and says why; moved back to planned, the intake starts a new run.
   * The cancel holds only if the saga has not moved on since: the saga moves the file itself a
   * moment before it records the new path.
   */
  private async followFile(record: SagaRecord): Promise<boolean> {
    if (this.vault.exists(record.frPath)) return false;
    const found = this.vault.locate(record.frId);
    if (found?.folder === 'planned') return true;
    if (found && found.folder === folderFor(record.state)) return false; // our own move, not yet recorded
    const reason = found ? `the FR file was moved to ${found.path} by a person` : `the FR file ${record.frPath} was deleted`;
    this.logger.warn({ frId: record.frId, sagaId: record.sagaId }, reason);
    await this.saga.handle({
      kind: 'cancel',
      env: { sagaId: record.sagaId, step: record.step, attempt: record.attempt },
      by: 'vault',
      reason,
      ifUnchanged: { state: record.state, frPath: record.frPath },
    });
    return true;
  }

  /**
   * Runs finished before the retention are archived: their records leave the store, day by day,
   * once the whole day is past the retention. A pass goes through every day since the last one
   * (kept in the index), so a sweeper that was down for weeks leaves nothing behind.
   */
  private async archive(): Promise<void> {
    const now = this.clock.nowMs();
    if (now - this.archivedAt < ARCHIVE_EVERY_MS) return;
    this.archivedAt = now;
    const retentionMs = this.config.SAGA_RETENTION_HOURS * 3600_000;
    await this.refusals.expire(new Date(now - retentionMs).toISOString());
    const through = dayOf(new Date(now - retentionMs - DAY_MS));
    const last = await this.index.archivedThrough();
    if (last !== undefined && last >= through) return;
    for (const day of await this.daysToArchive(last, through)) await this.archiveDay(day, now, retentionMs);
    await this.index.markArchivedThrough(through);
  }

  /** The days after `last` up to `through`; on a store's first pass, every day filed up to `through`. */
  private async daysToArchive(last: string | undefined, through: string): Promise<string[]> {
    if (last === undefined) return (await this.index.finishedDays()).filter((day) => day <= through);
    return daysAfter(last, through);
  }

  private async archiveDay(day: string, now: number, retentionMs: number): Promise<void> {
    const ids = await this.index.finishedOn(day);
    if (ids.length === 0) return;
    for (const sagaId of ids) {
      const stored = await this.sagas.get(sagaId);
      const r = stored?.value;
      // A run retried since is active again (or finished later): it waits for its own day.
      if (r && isTerminal(r.state) && r.outbox.length === 0 && Date.parse(r.updatedAt) + retentionMs < now) await this.sagas.erase(stored);
    }
    await this.index.dropDay(day);
    this.logger.info({ day, runs: ids.length }, 'finished runs archived');
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.lease.release().catch(() => undefined);
  }
}
