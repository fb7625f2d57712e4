import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusConnection, Clock, Lease } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { FR_FOLDERS } from '@agency/vault';
import { OrchestratorConfig } from '../orchestrator.config.js';
import { isTerminal } from './saga.machine.js';
import type { SagaRecord } from './saga.model.js';
import { SagaRepository } from './saga.repository.js';
import { folderFor, SagaService } from './saga.service.js';
import { VaultRepository } from '../vault/vault.repository.js';

/** States where the saga waits on a person or on the queue: no step clock runs. */
const UNTIMED = new Set(['queued', 'awaiting-plan-approval', 'awaiting-merge']);

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
 * Re-drives overdue steps from saved state, so a crashed service or a lost message delays an FR
 * but never loses it. One orchestrator replica sweeps at a time (a KV lease); the saga's
 * compare-and-set makes a sweep racing a late result harmless.
 */
@Injectable()
export class SweeperService implements OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly lease: Lease;
  private running?: Promise<void>;

  constructor(
    private readonly sagas: SagaRepository,
    private readonly saga: SagaService,
    private readonly clock: Clock,
    private readonly config: OrchestratorConfig,
    private readonly vault: VaultRepository,
    bus: BusConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    const ttl = Math.max(3 * config.SWEEP_INTERVAL_MS, 5000);
    this.lease = new Lease(bus, clock, 'orchestrator-sweeper', config.INSTANCE_ID ?? `${hostname()}-${process.pid}`, ttl);
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.SWEEP_INTERVAL_MS);
  }

  sweep(): Promise<void> {
    this.running ??= this.sweepOnce()
      .catch((e: Error) => this.logger.error({ err: e }, 'sweep failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(): Promise<void> {
    if (!(await this.lease.acquire())) return;
    const now = this.clock.nowMs();
    for (const record of await this.sagas.all()) {
      await this.repair(record);
      if (isTerminal(record.state)) continue;
      if (await this.followFile(record)) continue;
      if (record.notBefore) {
        await this.saga.releaseRetry(record);
        continue;
      }
      const why = overdue(record, now, this.config.STEP_QUIET_SECONDS * 1000, this.config.STEP_DEADLINE_SECONDS * 1000);
      if (!why) continue;
      this.logger.warn({ frId: record.frId, sagaId: record.sagaId, step: record.step, attempt: record.attempt }, `${record.step} ${why}`);
      await this.saga.handle({ kind: 'timeout', env: { sagaId: record.sagaId, step: record.step, attempt: record.attempt }, reason: why });
    }
  }

  /** Effects a crash may have cut short: the FR file's folder, and the job's release. */
  private async repair(listed: SagaRecord): Promise<void> {
    if (this.misplaced(listed)) {
      // The list is as old as the sweep: act only on the saga as it is now, or a live run's file moves back.
      const record = await this.current(listed);
      if (record && this.misplaced(record)) await this.saga.syncFr(record);
    }
    if (SagaService.isOver(listed) && !listed.finished) await this.saga.finish(listed);
  }

  private misplaced(record: SagaRecord): boolean {
    return this.vault.exists(record.frPath) && !record.frPath.startsWith(`${FR_FOLDERS[folderFor(record.state)]}/`);
  }

  private async current(record: SagaRecord): Promise<SagaRecord | undefined> {
    return (await this.sagas.get(record.sagaId))?.value;
  }

  /**
   * A running FR's file must stay where the saga put it. Moved elsewhere by a person (or deleted),
   * the run is cancelled and says why; moved back to planned, the intake starts a new run.
   * Judged on the saga as it is now, and the cancel holds only if it has not moved on since: the
   * saga moves the file itself a moment before it records the new path.
   */
  private async followFile(listed: SagaRecord): Promise<boolean> {
    if (this.vault.exists(listed.frPath)) return false;
    const record = await this.current(listed);
    if (!record || isTerminal(record.state)) return true;
    if (this.vault.exists(record.frPath)) return false;
    const found = this.vault.locate(record.frId);
    if (found?.folder === 'planned') return true;
    if (found && found.folder === folderFor(record.state)) return false; // our own move, not yet recorded
    const reason = found ? `the FR file was moved to ${found.path} by a person` : `the FR file ${record.frPath} was deleted`;
    this.logger.warn({ frId: record.frId, sagaId: record.sagaId }, reason);
    await this.saga.handle({ kind: 'cancel', env: { sagaId: record.sagaId, step: record.step, attempt: record.attempt }, by: 'vault', reason, ifUnchanged: { state: record.state, frPath: record.frPath } });
    return true;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.lease.release().catch(() => undefined);
  }
}
