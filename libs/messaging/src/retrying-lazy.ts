/**
 * A resource made on first use and shared afterwards. A failed attempt is forgotten, so the next
 * caller tries again: opening a bucket while NATS is restarting must not poison the service until
 * it is restarted (every later call would otherwise reject with the same stale error).
 */
export class RetryingLazy<T> {
  private pending?: Promise<T>;

  constructor(private readonly make: () => Promise<T>) {}

  get(): Promise<T> {
    this.pending ??= this.make().catch((error: unknown) => {
      this.pending = undefined;
      throw error;
    });
    return this.pending;
  }
}
