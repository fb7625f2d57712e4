/**
 * Whether the bus counts as reachable for readiness. The client reconnects forever, so a closed
 * connection is not the signal: the time since the connection was lost is. A loss shorter than
 * the grace is a blip (a NATS restart, a rolling upgrade) and keeps the service ready; a longer
 * one makes it unready until the client is connected again.
 */
export class BusReachability {
  private lostAt?: number;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The connection was lost (disconnect, stale connection); the first loss of an outage counts. */
  lost(): void {
    this.lostAt ??= this.now();
  }

  /** Connected again. */
  restored(): void {
    this.lostAt = undefined;
  }

  /** 'ok', or why the bus is not reachable (how long it has been lost). */
  check(): 'ok' | string {
    if (this.lostAt === undefined) return 'ok';
    const lostMs = this.now() - this.lostAt;
    if (lostMs < this.graceMs) return 'ok';
    return `unreachable for ${Math.floor(lostMs / 1000)} s (reconnecting)`;
  }
}
