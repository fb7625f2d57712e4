import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Messages, type Envelope, type LlmUsageEvent } from '@agency/contracts';
import { BusPublisher, Clock, type BatchItem } from '@agency/messaging';
import { context as otelContext, type AgencyPinoLogger } from '@agency/telemetry';
import { IdleSignal } from '../common/idle-signal.js';
import { InFlightCalls } from '../common/in-flight-calls.js';
import { SpoolFiles, type SpoolFile } from '../common/spool-file.js';
import type { LlmCallContext } from '../providers/llm-provider.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { UsageWindow, type CallUsage } from './usage-coalescing.js';

/** Step recorded when the caller sends no x-agency-step header. */
export const DEFAULT_USAGE_STEP = 'llm';
/** Events kept while the bus does not take them; past this the oldest are dropped (and counted). */
export const USAGE_QUEUE_LIMIT = 20_000;
/** Events published at once by one pass of the outbox. */
export const USAGE_BATCH = 256;
export const USAGE_RETRY_MIN_MS = 200;
export const USAGE_RETRY_MAX_MS = 5_000;
export const USAGE_SPOOL = 'unpublished-usage.json';
/** Events are published this long after the first of a batch was queued: a few batches a second, not one per call. */
export const USAGE_FLUSH_MS = 100;

/** The first call's trace context goes with the event, so the event links to that call's span. */
type QueuedUsage = BatchItem<LlmUsageEvent>;
type SpooledUsage = { envelope: Envelope<LlmUsageEvent>; msgId: string };

/**
 * The `llm-gateway.usage` events of the calls that name an FR, kept off the hot path: a call
 * only adds its usage to a bounded outbox; USAGE_FLUSH_MS after the first of a batch came, the
 * outbox publishes the events together (one span, their acks on one subscription). Each call
 * has its own event, unless more than USAGE_FOLD_ABOVE calls of one saga step, model and outcome
 * came within the flush (a client tagging many concurrent calls with one FR): those share one
 * event (UsageWindow), so the bus carries a few events a second per busy FR instead of one per
 * call. An event the bus did not take is published again as it was (same Nats-Msg-Id, so
 * JetStream stores it once) with backoff until it is stored; a shutdown waits for the outbox and
 * keeps what is left in WORK_DIR for the next start. The saga, step and job come from the call's
 * headers; without a saga header the FR id stands in for it (calls made outside a run). Each
 * event gets its own Nats-Msg-Id: the default dedupe key (saga:step:attempt:type) would drop
 * every event of a step but the first.
 */
@Injectable()
export class UsagePublisher implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  /** Calls of this flush, grouped (and folded when many) as they come. */
  private readonly window = new UsageWindow();
  /** Events made, in order, not yet taken by the bus: never folded again (a retry must send the same event). */
  private queue: QueuedUsage[] = [];
  /** The batch being published. */
  private sending: QueuedUsage[] = [];
  /** The spool a previous run left goes once its events are published. */
  private spoolLoaded = false;
  private draining = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Shut down: what is left was spooled, nothing is sent any more. */
  private closed = false;
  private readonly idle = new IdleSignal();
  private readonly spool: SpoolFile<{ events: SpooledUsage[] }> | undefined;
  /** Calls dropped since the last log line about it. */
  private dropped = 0;
  /** The shutdown's flush is over: the events of calls ending now (they outlasted the wait) are spooled at once. */
  private flushed = false;
  /** What the shutdown spooled; late events are added to it. */
  private spooled: SpooledUsage[] = [];
  private spoolWrite: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly bus: BusPublisher,
    private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    spools: SpoolFiles,
    @Inject(InFlightCalls) private readonly calls: Pick<InFlightCalls, 'flushWindowMs'>,
  ) {
    this.spool = spools.file(USAGE_SPOOL);
  }

  async onModuleInit(): Promise<void> {
    const content = await this.spool?.loadOrLog(this.logger, 'unpublished usage events of a previous run');
    if (!content?.events.length) return;
    this.spoolLoaded = true;
    this.logger.warn({ events: content.events.length, file: this.spool?.path }, 'publishing usage events a previous run could not');
    this.queue.push(...content.events);
    this.schedule();
  }

  /** Adds the call's usage to the outbox; it is published in the background. Never throws, never waits. */
  publish(call: LlmCallContext & { frId: string }, payload: LlmUsageEvent): void {
    const usage: CallUsage = {
      frId: call.frId,
      sagaId: call.sagaId ?? call.frId,
      step: call.step ?? DEFAULT_USAGE_STEP,
      payload,
      trace: otelContext.active(),
      endedAtMs: this.clock.nowMs(),
    };
    if (call.jobId) usage.jobId = call.jobId;
    // Past the limit the oldest event goes; with none queued, a call that would need a new one.
    let room = this.window.size + this.queue.length < USAGE_QUEUE_LIMIT;
    if (!room && this.queue.length > 0) {
      this.queue.shift();
      this.droppedOne();
      room = true;
    }
    if (!this.window.add(usage, room)) this.droppedOne();
    this.schedule();
    if (this.flushed) this.keepLate();
  }

  /**
   * After the shutdown's flush: what is not yet published (with what the shutdown spooled) is
   * kept in WORK_DIR, as the bus may close before it could be; published after all, a copy is
   * harmless (same Nats-Msg-Id). Writes of the file follow one another.
   */
  private keepLate(): void {
    const spool = this.spool;
    if (!spool || this.stopped) return;
    this.seal();
    const events = [...this.spooled, ...this.sending, ...this.queue].map(({ envelope, msgId }) => ({ envelope, msgId }));
    this.spoolWrite = this.spoolWrite
      .then(() => (events.length ? spool.save({ events }) : spool.clear()))
      .catch((e: unknown) =>
        this.logger.error({ err: e, file: spool.path }, 'usage events of a call that outlasted the shutdown wait could not be kept in WORK_DIR'),
      );
  }

  private droppedOne(): void {
    this.metrics.recordPublishFailure();
    if (this.dropped++ === 0)
      this.logger.error(
        { limit: USAGE_QUEUE_LIMIT },
        'usage events are dropped: the bus has not taken them for too long; these calls are missing from the FR cost',
      );
  }

  /** The window's events go to the end of the queue. */
  private seal(): void {
    if (this.window.size === 0) return;
    for (const group of this.window.take()) {
      const envelope: Envelope<LlmUsageEvent> = {
        id: this.clock.uuid(),
        type: Messages.LlmUsage.type,
        version: Messages.LlmUsage.version,
        frId: group.frId,
        sagaId: group.sagaId,
        step: group.step,
        attempt: 1,
        occurredAt: new Date(group.endedAtMs).toISOString(),
        payload: group.payload,
      };
      if (group.jobId) envelope.jobId = group.jobId;
      this.queue.push({ envelope, msgId: `llm-usage:${envelope.id}`, trace: group.trace });
    }
  }

  private schedule(delayMs = USAGE_FLUSH_MS): void {
    if (this.closed || this.draining || this.retryTimer || this.flushTimer || this.queue.length + this.window.size === 0) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.draining = true;
      void this.drain();
    }, delayMs);
    this.flushTimer.unref();
  }

  private async drain(): Promise<void> {
    this.seal();
    while (this.queue.length > 0) {
      const batch = (this.sending = this.queue.splice(0, USAGE_BATCH));
      const results = await this.bus
        .publishBatch(Messages.LlmUsage, batch)
        .catch((e: unknown) => batch.map((): PromiseSettledResult<unknown> => ({ status: 'rejected', reason: e })));
      this.sending = [];
      const failed = batch.filter((_q, i) => results[i]!.status === 'rejected');
      if (failed.length === 0) {
        if (this.failures > 0) this.logger.info({ queued: this.queue.length }, 'usage events are published again');
        this.failures = 0;
        continue;
      }
      this.queue.unshift(...failed);
      this.failures += 1;
      for (let i = 0; i < failed.length; i += 1) this.metrics.recordPublishFailure();
      if (this.failures === 1) {
        const reason = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as unknown;
        this.logger.error({ err: reason, queued: this.queue.length }, 'usage events could not be published; trying again until the bus takes them');
      }
      this.retryTimer = setTimeout(
        () => {
          this.retryTimer = undefined;
          this.schedule(0);
        },
        Math.min(USAGE_RETRY_MAX_MS, USAGE_RETRY_MIN_MS * 2 ** (this.failures - 1)),
      );
      this.retryTimer.unref();
      break;
    }
    this.draining = false;
    if (this.flushed) this.keepLate();
    // Failed events wait for their retry timer (schedule() leaves them); events keepLate() sealed are scheduled.
    if (this.queue.length > 0) return this.schedule();
    // Calls that ended while this batch was sent go in the next one.
    if (this.window.size > 0) return this.schedule();
    if (this.spoolLoaded) {
      this.spoolLoaded = false;
      await this.spool?.clear().catch(() => undefined);
    }
    this.idle.notify();
  }

  /** Waits until the outbox is empty, or `timeoutMs` passed; true when it is. */
  async flush(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.settled()) return true;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.schedule(0);
    }
    await this.idle.wait(timeoutMs);
    return this.settled();
  }

  /** Nothing queued and nothing being sent. */
  private settled(): boolean {
    return this.window.size === 0 && this.queue.length === 0 && this.sending.length === 0;
  }

  /** Before the bus closes, once the calls in flight ended: the outbox is published, or kept in WORK_DIR. */
  async beforeApplicationShutdown(): Promise<void> {
    try {
      await this.flushAtShutdown();
    } finally {
      this.flushed = true;
    }
  }

  /** After the HTTP server closed (every call ended, the late ones too): late events are on disk. */
  async onApplicationShutdown(): Promise<void> {
    await this.spoolWrite;
    this.stopped = true;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.flushTimer);
  }

  private async flushAtShutdown(): Promise<void> {
    const waitMs = await this.calls.flushWindowMs();
    // The outbox keeps publishing during the wait, so a bus that comes back within it takes everything.
    if (this.failures > 0) this.logger.warn({ queued: this.queue.length, waitMs }, 'stopping: waiting for the bus to take usage events (SHUTDOWN_FLUSH_MS)');
    if (await this.flush(waitMs)) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.flushTimer);
    this.seal();
    // A batch still being sent is kept too: its Nats-Msg-Id makes a second copy harmless.
    const events = [...this.sending, ...this.queue].map(({ envelope, msgId }) => ({ envelope, msgId }));
    this.queue = [];
    if (!this.spool) {
      this.logger.error({ events: events.length }, 'usage events could not be published and are lost (set WORK_DIR to keep them for the next start)');
      return;
    }
    await this.spool.save({ events });
    this.spooled = events;
    this.logger.warn({ events: events.length, file: this.spool.path }, 'usage events not yet published are kept for the next start');
  }
}
