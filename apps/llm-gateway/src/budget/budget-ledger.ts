import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { IdleSignal } from '../common/idle-signal.js';
import { InFlightCalls } from '../common/in-flight-calls.js';
import { SpoolFiles, type SpoolFile } from '../common/spool-file.js';
import { SpendStore, type SpendBatch, type StoredSpend } from './spend.store.js';

/** How long a spend read from KV is trusted: other replicas' spend shows up within this. */
export const SPEND_CACHE_MS = 1_000;
/** A failed write is tried again after this, doubling up to RETRY_MAX_MS, until it lands. */
export const RETRY_MIN_MS = 200;
export const RETRY_MAX_MS = 5_000;
export const SPEND_SPOOL = 'unwritten-spend.json';
/**
 * New charges wait this long before their write starts, so a busy replica writes each key a few
 * times a second instead of once per call (each write is two KV round trips); they count locally
 * at once, so budgets are enforced on them meanwhile.
 */
export const WRITE_DELAY_MS = 100;

/** A batch waiting for KV; `sent` once a write of it was tried (it may have landed). */
interface QueuedBatch extends SpendBatch {
  sent: boolean;
}

/** A key's batches in the order they must be written; only the first is ever being written. */
interface KeyState {
  queue: QueuedBatch[];
  /** A write of queue[0] or the wait before trying it again. */
  busy: boolean;
  failures: number;
}

interface SpoolContent {
  batches: Array<SpendBatch & { key: string }>;
}

/**
 * Spend per budget key, kept in KV and mirrored in memory. A charge counts locally at once (so
 * the next call of this replica sees it) and is written to KV in the background, WRITE_DELAY_MS
 * later, one write in flight per key; charges arriving meanwhile merge into the next batch, so a
 * busy FR never queues more than two batches. A write that fails is tried again, with backoff, until it lands:
 * each batch carries this process's id and a number, and KV remembers the last number of each
 * writer, so a batch whose first write did land (the answer was lost) is not counted twice.
 * While writes fail, budgets are enforced on the last stored total plus everything unwritten;
 * unwritten batches are kept in WORK_DIR (after each failure and at shutdown) and written at the
 * next start.
 */
@Injectable()
export class BudgetLedger implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly writer: string;
  private seq = 0;
  private readonly cache = new Map<string, { stored: StoredSpend; readAt: number }>();
  private readonly keys = new Map<string, KeyState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private writeTimer: NodeJS.Timeout | undefined;
  private readonly idle = new IdleSignal();
  /** A write failed and none has landed since: reads of KV would fail too. */
  private outage = false;
  private readonly spool: SpoolFile<SpoolContent> | undefined;
  private spoolWrite: Promise<void> = Promise.resolve();
  private spoolAgain = false;
  private spoolPending = false;
  private closing = false;
  /** The shutdown's flush is over: a charge now (a call that outlasted the wait) goes to the spool at once. */
  private flushed = false;
  private stopped = false;
  /** A flush is waiting: batches are written back to back instead of WRITE_DELAY_MS apart. */
  private flushing = 0;

  constructor(
    private readonly store: SpendStore,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    spools: SpoolFiles,
    @Inject(InFlightCalls) private readonly calls: Pick<InFlightCalls, 'flushWindowMs'>,
  ) {
    this.writer = clock.uuid();
    this.spool = spools.file<SpoolContent>(SPEND_SPOOL);
  }

  /** Spend a previous run could not write is written first (under its own writer id, so at most once). */
  async onModuleInit(): Promise<void> {
    const content = await this.spool?.loadOrLog(this.logger, 'unwritten spend of a previous run');
    if (!content?.batches.length) return;
    // The file goes once they are written: left, they would be written again at every start.
    this.spoolPending = true;
    for (const { key, ...batch } of content.batches) this.stateOf(key).queue.push({ ...batch, sent: true });
    this.logger.warn({ batches: content.batches.length, file: this.spool?.path }, 'writing spend a previous run could not store');
    for (const key of this.keys.keys()) this.pump(key);
  }

  async spent(key: string): Promise<number> {
    const cached = this.cache.get(key);
    let stored: StoredSpend;
    if (cached && (this.outage || this.clock.nowMs() - cached.readAt < SPEND_CACHE_MS)) stored = cached.stored;
    else {
      try {
        stored = await this.store.read(key);
        this.cache.set(key, { stored, readAt: this.clock.nowMs() });
      } catch (e) {
        // Without a stored total the budget cannot be judged; with one, it is the last known.
        if (!cached) throw e;
        stored = cached.stored;
      }
    }
    return stored.spentUsd + this.unwritten(key, stored);
  }

  /** Charged here but not (known to be) in the stored total. */
  private unwritten(key: string, stored: StoredSpend): number {
    let usd = 0;
    for (const b of this.keys.get(key)?.queue ?? []) if (b.seq > (stored.applied.get(b.writer) ?? 0)) usd += b.usd;
    return usd;
  }

  charge(key: string, usd: number): void {
    if (usd <= 0) return;
    const state = this.stateOf(key);
    const last = state.queue.at(-1);
    if (last && !last.sent && last.writer === this.writer) {
      last.usd += usd;
      last.calls += 1;
    } else state.queue.push({ writer: this.writer, seq: ++this.seq, usd, calls: 1, sent: false });
    if (!state.busy) this.scheduleWrites();
    // The bus may close before a write could land; the next start writes it (once) if it did not.
    if (this.flushed) this.saveSpool();
  }

  private scheduleWrites(): void {
    if (this.writeTimer || this.closing) return;
    this.writeTimer = setTimeout(() => this.writeNow(), WRITE_DELAY_MS);
    this.writeTimer.unref();
  }

  /** Starts the write of every key that is not being written (or waiting to try again). */
  private writeNow(): void {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    for (const [key, state] of this.keys) if (!state.busy) this.pump(key);
  }

  private stateOf(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { queue: [], busy: false, failures: 0 }));
    return state;
  }

  private pump(key: string): void {
    const state = this.keys.get(key)!;
    const batch = state.queue[0];
    if (!batch) {
      this.keys.delete(key);
      if (this.keys.size === 0) this.settled();
      return;
    }
    state.busy = true;
    batch.sent = true;
    const { sent: _sent, ...written } = batch;
    this.store.add(key, written, this.clock.now()).then(
      (stored) => {
        state.queue.shift();
        state.failures = 0;
        state.busy = false;
        this.cache.set(key, { stored, readAt: this.clock.nowMs() });
        this.landed();
        // The charges made during the write wait like new ones: written back to back, a busy key
        // would be written as fast as KV answers (two round trips each, hundreds a second at load).
        if (state.queue.length === 0 || this.flushing > 0) this.pump(key);
        else this.scheduleWrites();
      },
      (e: unknown) => this.failed(key, state, e),
    );
  }

  private failed(key: string, state: KeyState, error: unknown): void {
    state.failures += 1;
    if (!this.outage) {
      this.outage = true;
      this.logger.error(
        { err: error, budgetKey: key },
        'spend could not be written to the budget bucket; trying again until it lands (counted on this replica meanwhile)',
      );
    }
    this.saveSpool();
    if (this.closing) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        state.busy = false;
        this.pump(key);
      },
      Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (state.failures - 1)),
    );
    timer.unref();
    this.timers.add(timer);
  }

  private landed(): void {
    if (!this.outage) return;
    for (const s of this.keys.values()) if (s.failures > 0) return;
    this.outage = false;
    this.logger.info({ unwrittenKeys: this.keys.size }, 'spend is written to the budget bucket again');
  }

  private settled(): void {
    if (this.spoolPending) this.saveSpool();
    this.idle.notify();
  }

  /** Writes the unwritten batches to the spool (or removes it when there are none); one write at a time. */
  private saveSpool(): void {
    if (!this.spool || this.stopped) return;
    this.spoolPending = true;
    if (this.spoolAgain) return;
    this.spoolAgain = true;
    this.spoolWrite = this.spoolWrite.then(async () => {
      this.spoolAgain = false;
      const batches = this.snapshot();
      if (batches.length === 0) this.spoolPending = false;
      try {
        await (batches.length ? this.spool!.save({ batches }) : this.spool!.clear());
      } catch (e) {
        this.logger.error({ err: e, file: this.spool!.path }, 'unwritten spend could not be kept in WORK_DIR');
      }
    });
  }

  private snapshot(): SpoolContent['batches'] {
    const batches: SpoolContent['batches'] = [];
    for (const [key, s] of this.keys) for (const { sent: _sent, ...b } of s.queue) batches.push({ key, ...b });
    return batches;
  }

  /** Waits until every charge is written, or `timeoutMs` passed; true when all were. */
  async flush(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.keys.size > 0) {
      this.flushing += 1;
      this.writeNow();
      await this.idle.wait(timeoutMs).finally(() => (this.flushing -= 1));
    }
    await this.spoolWrite;
    return this.keys.size === 0;
  }

  /**
   * Runs before the bus connection closes: once the calls in flight ended (they charge as they
   * end), spend charged reaches KV, or the spool, within what is left of SHUTDOWN_FLUSH_MS.
   */
  async beforeApplicationShutdown(): Promise<void> {
    try {
      await this.flushAtShutdown();
    } finally {
      this.flushed = true;
    }
  }

  /**
   * After the HTTP server closed (every call ended, the late ones too): what they charged after
   * the flush is in the spool, unless its write landed meanwhile.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.spoolWrite;
    // Stopped: a write answered later (or failing on the closed bus) changes nothing on disk.
    this.stopped = true;
    this.closing = true;
    clearTimeout(this.writeTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async flushAtShutdown(): Promise<void> {
    const waitMs = await this.calls.flushWindowMs();
    // Writes keep being tried during the wait, so a bus that comes back within it gets everything.
    if (this.outage) this.logger.warn({ unwrittenKeys: this.keys.size, waitMs }, 'stopping: waiting for the budget bucket (SHUTDOWN_FLUSH_MS)');
    if (await this.flush(waitMs)) return;
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const batches = this.snapshot();
    const usd = batches.reduce((sum, b) => sum + b.usd, 0);
    if (!this.spool) {
      this.logger.error(
        { batches: batches.length, usd },
        'spend could not be written to the budget bucket and is lost (set WORK_DIR to keep it for the next start)',
      );
      return;
    }
    this.saveSpool();
    await this.spoolWrite;
    this.logger.warn({ batches: batches.length, usd, file: this.spool.path }, 'spend not yet in the budget bucket is kept for the next start');
  }
}
