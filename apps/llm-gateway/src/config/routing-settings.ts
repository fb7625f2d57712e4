import { childPath, isRecord, kindOf, type Problems } from '../common/shape.js';

/** How a call walks its alias's targets when one fails (llm.routing). */
export interface RoutingSettings {
  /** Extra attempts on the same target after a retryable failure (429, 5xx, connect error, timeout). */
  retries: number;
  /** Backoff before retry n (0-based): a random wait in [0, min(max, initial * 2^n)] ("full jitter"). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A retry-after longer than this moves on to the next target instead of waiting. */
  maxRetryWaitMs: number;
  /** How long a target that timed out or failed hard is skipped (circuit breaker); doubles while it keeps failing, up to 8x. */
  breakerCooldownMs: number;
  /** Soft failures (5xx, overloaded, broken streams) in a row that trip a target's breaker. */
  breakerFailures: number;
  /**
   * Longest wait for an answer to start, over every retry and fallback of a call (the
   * x-agency-deadline-ms header may set another per call). An answer that has started is never cut by it.
   */
  deadlineMs: number;
}

export const DEFAULT_ROUTING: RoutingSettings = {
  retries: 2,
  backoffInitialMs: 250,
  backoffMaxMs: 8_000,
  maxRetryWaitMs: 30_000,
  breakerCooldownMs: 30_000,
  breakerFailures: 3,
  deadlineMs: 300_000,
};

/** The most x-agency-deadline-ms and llm.routing.deadline_ms may ask for. */
export const MAX_DEADLINE_MS = 3_600_000;

const KEYS: Record<string, { field: keyof RoutingSettings; min: number; max: number }> = {
  retries: { field: 'retries', min: 0, max: 10 },
  backoff_initial_ms: { field: 'backoffInitialMs', min: 0, max: 600_000 },
  backoff_max_ms: { field: 'backoffMaxMs', min: 0, max: 600_000 },
  max_retry_wait_ms: { field: 'maxRetryWaitMs', min: 0, max: 3_600_000 },
  breaker_cooldown_ms: { field: 'breakerCooldownMs', min: 1, max: 3_600_000 },
  breaker_failures: { field: 'breakerFailures', min: 1, max: 100 },
  deadline_ms: { field: 'deadlineMs', min: 1, max: MAX_DEADLINE_MS },
};

export function parseRouting(p: Problems, raw: unknown): RoutingSettings {
  const path = 'llm.routing';
  if (raw === undefined) return DEFAULT_ROUTING;
  if (!isRecord(raw)) {
    p.add(path, `must be a mapping, got ${kindOf(raw)}`);
    return DEFAULT_ROUTING;
  }
  p.unknownKeys(path, raw, Object.keys(KEYS));
  const out = { ...DEFAULT_ROUTING };
  for (const [key, rule] of Object.entries(KEYS)) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < rule.min || v > rule.max) {
      p.add(childPath(path, key), `must be a whole number from ${rule.min} to ${rule.max}, got ${typeof v === 'number' ? v : kindOf(v)}`);
    } else out[rule.field] = v;
  }
  if (out.backoffMaxMs < out.backoffInitialMs) p.add(childPath(path, 'backoff_max_ms'), `must be at least backoff_initial_ms (${out.backoffInitialMs})`);
  return out;
}
