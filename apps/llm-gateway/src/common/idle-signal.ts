/** Lets callers wait, with a bound, until a background queue says it is empty. */
export class IdleSignal {
  private waiters: Array<() => void> = [];

  /** Resolves at the next notify(), or after `timeoutMs`. */
  async wait(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push(resolve)),
      ...(Number.isFinite(timeoutMs) ? [new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))] : []),
    ]);
    clearTimeout(timer);
  }

  notify(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
