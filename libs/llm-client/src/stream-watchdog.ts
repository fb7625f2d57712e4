/** Why a model call was given up without an error from the gateway. */
export type WatchdogCause = 'first-byte' | 'idle' | 'cancelled';

/**
 * Watches one streamed answer: aborts it when nothing arrives within the first-byte limit, or
 * when the stream goes silent for longer than the idle limit once it has started. A long answer
 * that keeps coming is never cut. The caller's own signal (a cancelled job) aborts it at once.
 */
export class StreamWatchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private onOuterAbort?: () => void;
  cause: WatchdogCause | undefined;

  constructor(
    private readonly firstByteMs: number,
    private readonly idleMs: number,
    private readonly outer?: AbortSignal,
  ) {
    if (outer?.aborted) this.fire('cancelled');
    else {
      if (outer) {
        this.onOuterAbort = () => this.fire('cancelled');
        outer.addEventListener('abort', this.onOuterAbort, { once: true });
      }
      this.arm(firstByteMs, 'first-byte');
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A chunk arrived: the idle clock starts again. */
  alive(): void {
    if (this.cause) return;
    this.arm(this.idleMs, 'idle');
  }

  /** The limit that fired, in words, for the error message. */
  describe(): string {
    if (this.cause === 'first-byte') return `no answer began within ${duration(this.firstByteMs)}`;
    if (this.cause === 'idle') return `the answer stalled: nothing arrived for ${duration(this.idleMs)}`;
    return 'the call was cancelled';
  }

  stop(): void {
    clearTimeout(this.timer);
    if (this.onOuterAbort) this.outer?.removeEventListener('abort', this.onOuterAbort);
  }

  private arm(ms: number, cause: WatchdogCause): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(cause), ms);
    this.timer.unref?.();
  }

  private fire(cause: WatchdogCause): void {
    if (this.cause) return;
    this.cause = cause;
    clearTimeout(this.timer);
    this.controller.abort(new Error(cause));
  }
}

function duration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
