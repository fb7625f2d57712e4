import { Injectable } from '@nestjs/common';
import { BUCKETS, ownedKey } from '@agency/contracts';
import { BusConnection, KvStore, ONCE_TTL_MS, RetryingLazy } from '@agency/messaging';

interface Cancelled {
  reason: string;
  at: string;
  /** Absent in records written before replicas followed each other's cancels. */
  jobId?: string;
}

// In the runner's own key space of the shared bucket (the only part its NATS user may write).
const PREFIX = `${ownedKey('agent-runner', 'cancelled')}.`;

/**
 * Jobs that were stopped. Kept in KV (`agency-once`, with its TTL) so every runner replica, and
 * this one after a restart, refuses a step of a cancelled job that is redelivered later.
 */
@Injectable()
export class JobCancellations {
  private readonly store: RetryingLazy<KvStore<Cancelled>>;
  private readonly known = new Set<string>();

  constructor(bus: BusConnection) {
    this.store = KvStore.lazy<Cancelled>(bus, BUCKETS.once, { ttl: ONCE_TTL_MS, history: 1 });
  }

  private open(): Promise<KvStore<Cancelled>> {
    return this.store.get();
  }

  private key(jobId: string): string {
    return `${PREFIX}${jobId.replace(/[^A-Za-z0-9_=-]/g, '_')}`;
  }

  async cancel(jobId: string, reason: string): Promise<void> {
    this.known.add(jobId);
    await (await this.open()).put(this.key(jobId), { reason, at: new Date().toISOString(), jobId });
  }

  /**
   * Calls `onCancel` for each job another replica cancels from now on (the cleanup command
   * reaches one replica of the shared consumer; the job may be running on another). Jobs this
   * replica cancelled itself are skipped: it has already ended them.
   */
  async follow(onCancel: (jobId: string, reason: string) => void, onError: (error: unknown) => void): Promise<() => void> {
    return (await this.open()).watchPuts(
      `${PREFIX}>`,
      (key, value) => {
        const jobId = value.jobId ?? key.slice(PREFIX.length);
        if (this.known.has(jobId)) return;
        this.known.add(jobId);
        onCancel(jobId, value.reason);
      },
      onError,
    );
  }

  async isCancelled(jobId: string): Promise<boolean> {
    if (this.known.has(jobId)) return true;
    const found = (await (await this.open()).get(this.key(jobId))) !== undefined;
    if (found) this.known.add(jobId);
    return found;
  }
}
