/** How a failed attempt counts against its target. */
export const BREAKER_VERDICTS = ['hard', 'soft', 'alive', 'none'] as const;
export type BreakerVerdict = (typeof BREAKER_VERDICTS)[number];

/**
 * What an attempt's outcome (a ProviderError code, or "ok") says about the target:
 * - hard: it did not answer at all (no first byte, connection refused) or refuses the gateway
 *   (key, model name): skip it at once for a cool-down;
 * - soft: it answered badly (5xx, overloaded, a broken or stalled stream): skip it after
 *   `breakerFailures` of these in a row;
 * - alive: it answered (a success, a 429, a refusal of the request itself);
 * - none: says nothing about it (cancelled by the client, the gateway's own limits and deadline).
 */
export function breakerVerdict(code: string): BreakerVerdict {
  switch (code) {
    case 'upstream_timeout':
    case 'upstream_unreachable':
    case 'upstream_auth_failed':
    case 'upstream_not_found':
      return 'hard';
    case 'upstream_error':
    case 'upstream_overloaded':
    case 'upstream_connection_lost':
    case 'upstream_stalled':
    case 'upstream_malformed':
    case 'upstream_stream_truncated':
    case 'incomplete_stream':
      return 'soft';
    case 'cancelled':
    case 'local_rate_limited':
    case 'deadline_exceeded':
    case 'circuit_open':
      return 'none';
    default:
      return 'alive';
  }
}

export interface BreakerSettings {
  /** How long a tripped target is skipped before one call may try it again. */
  breakerCooldownMs: number;
  /** Soft failures in a row that trip it. */
  breakerFailures: number;
}

/** Whether a call may try the target now; `probe`: it is the one call that tests a tripped target. */
export type BreakerGate = { ok: true; probe: boolean } | { ok: false; retryInMs: number };

/**
 * One target's circuit breaker: closed (calls go through), open (calls skip the target until the
 * cool-down ends), then half-open (the next call is let through as a probe while the others still
 * skip it; its success closes the breaker, its failure opens it again for twice the cool-down, up
 * to eight times). Per gateway replica, in memory: a replica learns on its own that a target hangs.
 */
export class CircuitBreaker {
  private openUntil = 0;
  private probing = false;
  private softInARow = 0;
  private trips = 0;

  /** Whether an attempt may go to the target at `nowMs`. */
  admit(nowMs: number): BreakerGate {
    if (this.trips === 0) return { ok: true, probe: false };
    if (nowMs < this.openUntil) return { ok: false, retryInMs: this.openUntil - nowMs };
    if (this.probing) return { ok: false, retryInMs: 0 };
    this.probing = true;
    return { ok: true, probe: true };
  }

  /**
   * Records an attempt's outcome ("ok" or a ProviderError code); `probe` as admit said. Returns
   * true when this outcome tripped the breaker.
   */
  record(outcome: string, probe: boolean, nowMs: number, settings: BreakerSettings): boolean {
    if (probe) this.probing = false;
    const verdict = outcome === 'ok' ? 'alive' : breakerVerdict(outcome);
    if (verdict === 'none') return false;
    if (verdict === 'alive') {
      this.trips = 0;
      this.softInARow = 0;
      return false;
    }
    this.softInARow = verdict === 'soft' ? this.softInARow + 1 : 0;
    // A probe that fails, a hard failure, or enough soft ones in a row trip it.
    if (!probe && verdict === 'soft' && this.softInARow < settings.breakerFailures) return false;
    this.trips = Math.min(this.trips + 1, 4);
    this.softInARow = 0;
    this.openUntil = nowMs + settings.breakerCooldownMs * 2 ** (this.trips - 1);
    return true;
  }

  /** True while calls skip the target. */
  isOpen(nowMs: number): boolean {
    return this.trips > 0 && (nowMs < this.openUntil || this.probing);
  }
}
