/**
 * Socket writes made during one turn of the event loop, carried out together at its end
 * (setImmediate: the check phase, right after the I/O callbacks of the turn). Under load a turn
 * serves many calls; writing their answers (and their vendor requests) back to back, after the
 * JavaScript of all of them, wakes a sleeping reader once per burst instead of once per write.
 * On a 2-vCPU VM with the client and the vendor on the same host, a wake-up cost ~8 µs of the
 * writer's time, two per call: this took the benchmark's JSON call from ~103 to ~80 µs of CPU
 * (bench/results/llm-gateway.md, 2026-12-05). The same idea as Netty's FlushConsolidationHandler.
 * A lone call waits for nothing: its turn ends right after its own callback.
 */
export class SocketWrites {
  private queue: Array<() => void> = [];
  private readonly flush = (): void => {
    const writes = this.queue;
    this.queue = [];
    let failure: unknown;
    for (const write of writes) {
      try {
        write();
      } catch (error) {
        // One failed write must not keep the others' answers back.
        failure ??= error;
      }
    }
    if (failure !== undefined) this.onError(failure);
  };

  constructor(private readonly onError: (error: unknown) => void = (error) => process.emitWarning(error as Error)) {}

  /** Runs `write` at the end of this turn, after the writes deferred before it. */
  defer(write: () => void): void {
    if (this.queue.push(write) === 1) setImmediate(this.flush);
  }

  /** Writes waiting for the end of the turn. */
  get pending(): number {
    return this.queue.length;
  }
}

/** The gateway's one queue: answers to clients and requests to vendors share the burst. */
export const socketWrites = new SocketWrites();
