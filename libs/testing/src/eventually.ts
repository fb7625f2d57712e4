export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Shown when the deadline passes, besides the last failure. */
  message?: string;
}

/**
 * Polls an assertion until it passes or the deadline passes; asynchronous assertions never wait
 * on a fixed sleep, and never without a bound.
 */
export async function expectEventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`${options.message ?? 'condition'} not met within ${timeoutMs} ms: ${why}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
