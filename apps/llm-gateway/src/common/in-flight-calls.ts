import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { LlmGatewayConfig } from '../llm-gateway.config.js';
import { IdleSignal } from './idle-signal.js';

/** What the API routes do with a call that arrives. */
export enum Admission {
  Serve = 'serve',
  /** The gateway is stopping: a 503 (another replica, or this one restarted, takes the retry). */
  RefuseShuttingDown = 'refuse_shutting_down',
}

/** The most of SHUTDOWN_FLUSH_MS kept for the flush when calls in flight take long. */
export const FLUSH_RESERVE_MAX_MS = 2_000;

/**
 * How one shutdown shares its single wait, SHUTDOWN_FLUSH_MS counted from the start of the
 * shutdown: calls in flight may run until `callsUntilMs`; the ledger and the outbox flush until
 * `flushUntilMs`. The flush keeps a reserve (a quarter of the wait, at most FLUSH_RESERVE_MAX_MS):
 * without it a long call would leave no time to write even a healthy bus, and everything would
 * be spooled (or lost without WORK_DIR). Writes go on in the background while calls run, so a
 * flush after them has little left to do.
 */
export interface ShutdownPlan {
  callsUntilMs: number;
  flushUntilMs: number;
}

export function planShutdown(startedAtMs: number, shutdownFlushMs: number): ShutdownPlan {
  const reserve = Math.min(FLUSH_RESERVE_MAX_MS, Math.floor(shutdownFlushMs / 4));
  return { callsUntilMs: startedAtMs + shutdownFlushMs - reserve, flushUntilMs: startedAtMs + shutdownFlushMs };
}

/**
 * The chat-route calls this replica is serving, from the request's start to the end of its
 * response. At shutdown (onModuleDestroy, before any beforeApplicationShutdown) it stops
 * admitting calls and starts the shutdown's one deadline; the budget ledger and the usage outbox
 * wait here for the calls in flight to end (so what they charge is flushed, not left in memory
 * when the bus closes), then flush in the time left.
 */
@Injectable()
export class InFlightCalls implements OnModuleDestroy {
  private running = 0;
  private plan: ShutdownPlan | undefined;
  private settling: Promise<void> | undefined;
  private readonly idle = new IdleSignal();
  private readonly shutdownFlushMs: number;

  constructor(
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    @Inject(LlmGatewayConfig) config: Pick<LlmGatewayConfig, 'SHUTDOWN_FLUSH_MS'>,
  ) {
    this.shutdownFlushMs = config.SHUTDOWN_FLUSH_MS;
  }

  get count(): number {
    return this.running;
  }

  /** The shutdown began: calls are refused. */
  get stopping(): boolean {
    return this.plan !== undefined;
  }

  /** Serve counts the call until ended() is called; a refused call is not counted. */
  admit(): Admission {
    if (this.plan) return Admission.RefuseShuttingDown;
    this.running += 1;
    return Admission.Serve;
  }

  ended(): void {
    this.running -= 1;
    if (this.running === 0) this.idle.notify();
  }

  /** The shutdown begins: no new calls, and its deadline starts now. */
  onModuleDestroy(): void {
    this.plan ??= planShutdown(this.clock.nowMs(), this.shutdownFlushMs);
  }

  /**
   * Waits (once, shared by every caller) for the calls in flight to end, at most until the plan's
   * callsUntilMs; resolves with the milliseconds left for the flush.
   */
  async flushWindowMs(): Promise<number> {
    this.onModuleDestroy();
    this.settling ??= this.waitForCalls(this.plan!);
    await this.settling;
    return Math.max(0, this.plan!.flushUntilMs - this.clock.nowMs());
  }

  private async waitForCalls(plan: ShutdownPlan): Promise<void> {
    if (this.running === 0) return;
    const started = this.running;
    this.logger.info({ calls: started, waitMs: Math.max(0, plan.callsUntilMs - this.clock.nowMs()) }, 'stopping: waiting for the calls in flight');
    while (this.running > 0) {
      const left = plan.callsUntilMs - this.clock.nowMs();
      if (left <= 0) break;
      await this.idle.wait(left);
    }
    if (this.running > 0)
      this.logger.error(
        { calls: this.running, of: started },
        'calls still running at the end of the shutdown wait (SHUTDOWN_FLUSH_MS): what they charge after the flush is kept in WORK_DIR for the next start (lost without it)',
      );
  }
}
