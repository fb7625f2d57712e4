/** What the pool keeps: anything that can be checked for life and shut down. */
export interface Poolable {
  readonly isGone: boolean;
  onGone(listener: (e: Error) => void): void;
  shutdown(): Promise<void>;
}

export interface WarmPoolOptions<T extends Poolable> {
  /** How many ready containers to keep. */
  size: number;
  start: () => Promise<T>;
  onError: (error: unknown) => void;
  /** Pause after a failed start before the next try (doubling per failure, up to 5 minutes), so a missing image is not retried in a loop. */
  retryDelayMs?: number;
}

/**
 * Ready containers for one image and user, started ahead of demand: take() hands one out at
 * once (or nothing, and the caller starts one cold) and starts a replacement in the background.
 * A container that dies while waiting is dropped. Each one serves a single session and is then
 * removed, so nothing of one job is left for the next.
 */
export class WarmPool<T extends Poolable> {
  private readonly ready: T[] = [];
  private starting = 0;
  private closed = false;
  private pausedUntil = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly retryDelayMs: number;
  private failures = 0;

  constructor(private readonly options: WarmPoolOptions<T>) {
    this.retryDelayMs = options.retryDelayMs ?? 10_000;
  }

  get readyCount(): number {
    return this.ready.filter((c) => !c.isGone).length;
  }

  get startingCount(): number {
    return this.starting;
  }

  take(): T | undefined {
    let found: T | undefined;
    while (!found && this.ready.length > 0) {
      const next = this.ready.shift()!;
      if (!next.isGone) found = next;
    }
    this.fill();
    return found;
  }

  /** Starts containers until `size` are ready or starting. */
  fill(): void {
    if (this.closed || Date.now() < this.pausedUntil) return;
    while (this.ready.length + this.starting < this.options.size) {
      this.starting += 1;
      this.options.start().then(
        (item) => {
          this.starting -= 1;
          this.failures = 0;
          if (this.closed) {
            void item.shutdown().catch(this.options.onError);
            return;
          }
          this.ready.push(item);
          item.onGone(() => {
            const i = this.ready.indexOf(item);
            if (i >= 0) this.ready.splice(i, 1);
            this.fill();
          });
        },
        (error: unknown) => {
          this.starting -= 1;
          this.options.onError(error);
          const delay = Math.min(this.retryDelayMs * 2 ** this.failures, 300_000);
          this.failures += 1;
          this.pausedUntil = Date.now() + delay;
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.fill(), delay);
          this.retryTimer.unref();
        },
      );
    }
  }

  /** Waits until every container being started has arrived (for a benchmark's or test's steady state). */
  async settled(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.starting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /** Stops refilling and removes every ready container. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const all = this.ready.splice(0);
    await Promise.all(all.map((c) => c.shutdown().catch(this.options.onError)));
  }
}
