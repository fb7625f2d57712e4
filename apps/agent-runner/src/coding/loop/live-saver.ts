/**
 * Stores a growing document (the coder's transcript) while the work runs, so people can follow
 * it: at most one write at a time, at most one every `minIntervalMs`, the newest state each time.
 * `finish` waits for a write in flight and drops any pending one, so the final write it makes
 * is never overwritten by a late partial one.
 */
export class LiveSaver {
  private inFlight: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private lastAt = 0;
  private finished = false;

  constructor(
    private readonly write: () => Promise<void>,
    private readonly minIntervalMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Something changed: write soon (never more often than the interval). */
  poke(): void {
    if (this.finished || this.timer) return;
    const wait = Math.max(0, this.lastAt + this.minIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.finished) return;
      this.lastAt = this.now();
      // A failed partial write is not the step's failure: the final one says what happened.
      this.inFlight = this.inFlight.then(() => this.write()).catch(() => undefined);
    }, wait);
  }

  /** No more partial writes; the write in flight, if any, has ended when this resolves. */
  async finish(): Promise<void> {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}
