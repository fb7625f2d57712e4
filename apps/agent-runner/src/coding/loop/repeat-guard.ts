/** JSON text with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same action. */
export function canonicalArgs(raw: string): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, sort(x)]),
      );
    return v;
  };
  try {
    return JSON.stringify(sort(JSON.parse(raw || '{}')));
  } catch {
    return raw.trim();
  }
}

/** What to do with an action: run it, run nothing and warn the model, or stop the loop. */
export type RepeatVerdict = 'ok' | 'warn' | 'stop';

/**
 * Spots a model going round in circles: the same action (tool and arguments) done `limit` times
 * with no change to the repository in between. The first time it gets there the model is warned
 * (the action is not run again); doing it once more stops the loop. A change resets everything,
 * since the same read or test run after an edit is a fresh look, not a repeat.
 */
export class RepeatGuard {
  private readonly counts = new Map<string, number>();
  private readonly warned = new Set<string>();

  constructor(readonly limit = 3) {
    if (!Number.isInteger(limit) || limit < 2) throw new Error(`repeat limit must be an integer of at least 2, got ${limit}`);
  }

  /** Counts the action; returns how many times it has now been done since the last change. */
  record(name: string, rawArgs: string): number {
    const key = `${name} ${canonicalArgs(rawArgs)}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n;
  }

  /** Counts the action and says what to do with it. */
  check(name: string, rawArgs: string): { count: number; verdict: RepeatVerdict } {
    const count = this.record(name, rawArgs);
    if (count < this.limit) return { count, verdict: 'ok' };
    const key = `${name} ${canonicalArgs(rawArgs)}`;
    if (this.warned.has(key)) return { count, verdict: 'stop' };
    this.warned.add(key);
    return { count, verdict: 'warn' };
  }

  changed(): void {
    this.counts.clear();
    this.warned.clear();
  }
}
