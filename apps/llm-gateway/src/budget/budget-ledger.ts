import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { SpendStore } from './spend.store.js';

/** How long a spend read from KV is trusted: other replicas' spend shows up within this. */
export const SPEND_CACHE_MS = 1_000;

/**
 * Spend per budget key, kept in KV and mirrored in memory. A charge counts locally at once (so
 * the next call of this replica sees it) and is written to KV in the background: one write in
 * flight per key, charges arriving meanwhile merged into the next one, so the answer that caused
 * a charge is never held up and a busy FR never queues more than one pending write. A KV read is
 * cached briefly.
 */
@Injectable()
export class BudgetLedger implements BeforeApplicationShutdown {
  private readonly cache = new Map<string, { spent: number; readAt: number }>();
  /** Charged here but not yet confirmed by KV (in flight or waiting), per key. */
  private readonly pending = new Map<string, number>();
  /** Charges waiting for the key's next write. */
  private readonly waiting = new Map<string, { usd: number; calls: number }>();
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly store: SpendStore,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async spent(key: string): Promise<number> {
    const cached = this.cache.get(key);
    let base: number;
    if (cached && this.clock.nowMs() - cached.readAt < SPEND_CACHE_MS) base = cached.spent;
    else {
      base = await this.store.spent(key);
      this.cache.set(key, { spent: base, readAt: this.clock.nowMs() });
    }
    return base + (this.pending.get(key) ?? 0);
  }

  charge(key: string, usd: number): void {
    if (usd <= 0) return;
    this.pending.set(key, (this.pending.get(key) ?? 0) + usd);
    const w = this.waiting.get(key);
    if (w) {
      w.usd += usd;
      w.calls += 1;
    } else this.waiting.set(key, { usd, calls: 1 });
    if (!this.writing.has(key)) this.write(key);
  }

  private write(key: string): void {
    const batch = this.waiting.get(key)!;
    this.waiting.delete(key);
    const done = (async () => {
      try {
        const total = await this.store.add(key, batch.usd, this.clock.now(), batch.calls);
        this.cache.set(key, { spent: total, readAt: this.clock.nowMs() });
      } catch (e) {
        this.logger.error({ err: e, budgetKey: key, usd: batch.usd }, 'spend could not be written to the budget bucket; it counts on this replica only until restart');
        // Keep counting it locally, so this replica still enforces the budget.
        const cached = this.cache.get(key);
        this.cache.set(key, { spent: (cached?.spent ?? 0) + batch.usd, readAt: cached?.readAt ?? this.clock.nowMs() });
      } finally {
        this.pending.set(key, (this.pending.get(key) ?? 0) - batch.usd);
        this.writing.delete(key);
        if (this.waiting.has(key)) this.write(key);
      }
    })();
    this.writing.set(key, done);
  }

  /** Waits for the background writes (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing.values()]);
  }

  /** Runs before the bus connection closes: spend already charged reaches KV. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }
}
