import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude, type KV, type KvOptions } from '@nats-io/kv';
import type { BusConnection } from './bus-connection.js';
import { RetryingLazy } from './retrying-lazy.js';

export interface Versioned<T> {
  value: T;
  revision: number;
}

/** The KV update lost a race: someone changed the key since it was read. */
export class RevisionConflictError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`${bucket}/${key} changed since it was read`);
    this.name = 'RevisionConflictError';
  }
}

function isWrongRevision(e: unknown): boolean {
  return /wrong last sequence|key exists/i.test((e as Error).message ?? '');
}

/** A JSON-valued KV bucket with create-once and compare-and-set updates. */
export class KvStore<T> {
  private constructor(
    readonly bucket: string,
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
  ) {}

  /** The bucket's stream and a key's subject in it (`$KV.<bucket>.<key>`). */
  private get stream(): string {
    return `KV_${this.bucket}`;
  }

  private subject(key: string): string {
    return `$KV.${this.bucket}.${key}`;
  }

  /** The bucket opened on first use; a failed open is forgotten and tried again (see RetryingLazy). */
  static lazy<T>(bus: BusConnection, bucket: string, options: Partial<KvOptions> = {}): RetryingLazy<KvStore<T>> {
    return new RetryingLazy(() => KvStore.open<T>(bus, bucket, options));
  }

  static async open<T>(bus: BusConnection, bucket: string, options: Partial<KvOptions> = {}): Promise<KvStore<T>> {
    const kv = await new Kvm(bus.js).create(bucket, { history: 5, ...options });
    return new KvStore<T>(bucket, kv, bus.jsm);
  }

  async get(key: string): Promise<Versioned<T> | undefined> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return undefined;
    return { value: entry.json<T>(), revision: entry.revision };
  }

  /** Writes only if the key does not exist; returns undefined when it already did. */
  async create(key: string, value: T): Promise<number | undefined> {
    try {
      return await this.kv.create(key, JSON.stringify(value));
    } catch (e) {
      if (isWrongRevision(e)) return undefined;
      throw e;
    }
  }

  /** Compare-and-set: throws RevisionConflictError when the key moved past `revision`. */
  async update(key: string, value: T, revision: number): Promise<number> {
    try {
      return await this.kv.update(key, JSON.stringify(value), revision);
    } catch (e) {
      if (isWrongRevision(e)) throw new RevisionConflictError(this.bucket, key);
      throw e;
    }
  }

  /**
   * Reads, applies `change` and writes back with compare-and-set, retrying on conflict.
   * `change` returns undefined to leave the value as it is.
   */
  async mutate(key: string, change: (current: T | undefined) => T | undefined, attempts = 10): Promise<Versioned<T> | undefined> {
    for (let i = 0; i < attempts; i += 1) {
      const current = await this.get(key);
      const next = change(current?.value);
      if (next === undefined) return current;
      try {
        const revision = current ? await this.update(key, next, current.revision) : await this.create(key, next);
        if (revision !== undefined) return { value: next, revision };
      } catch (e) {
        if (!(e instanceof RevisionConflictError)) throw e;
      }
    }
    throw new RevisionConflictError(this.bucket, key);
  }

  async put(key: string, value: T): Promise<number> {
    return this.kv.put(key, JSON.stringify(value));
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  /**
   * Calls `onPut` for every value written under `filter` from now on (no history, no deletes),
   * until the returned function is called. The watch survives reconnects (an ordered consumer);
   * an error thrown by `onPut` is passed to `onError` and the watch goes on.
   */
  async watchPuts(filter: string, onPut: (key: string, value: T) => void, onError: (error: unknown) => void): Promise<() => void> {
    const updates = await this.kv.watch({ key: filter, include: KvWatchInclude.UpdatesOnly, ignoreDeletes: true });
    void (async () => {
      for await (const entry of updates) {
        if (entry.operation !== 'PUT') continue;
        try {
          onPut(entry.key, entry.json<T>());
        } catch (e) {
          onError(e);
        }
      }
    })().catch(onError);
    return () => updates.stop();
  }

  /**
   * Archives a key: its history goes (a purge: one marker replaces every revision, so it reads
   * and lists as absent and can be created again). The marker itself stays: removing a subject's
   * last message needs the stream-wide purge the services are not allowed (bus-permissions.ts).
   * With `revision`, compare-and-set: throws RevisionConflictError when the key moved past it.
   */
  async erase(key: string, revision?: number): Promise<void> {
    try {
      await this.kv.purge(key, revision === undefined ? undefined : { previousSeq: revision });
    } catch (e) {
      if (isWrongRevision(e)) throw new RevisionConflictError(this.bucket, key);
      throw e;
    }
  }

  /**
   * The keys under `filter`, from the stream's subject list (one request, paged by the client): no
   * consumer is created, so none lingers after the call, as the client's own key listing (an
   * ordered consumer per call) did. Deleted and erased keys are listed too; `values` leaves them out.
   */
  async keys(filter = '>'): Promise<string[]> {
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: this.subject(filter) });
    const prefix = this.subject('');
    return Object.keys(info.state.subjects ?? {})
      .map((subject) => subject.slice(prefix.length))
      .sort();
  }

  async values(filter = '>'): Promise<Array<Versioned<T> & { key: string }>> {
    const out: Array<Versioned<T> & { key: string }> = [];
    for (const key of await this.keys(filter)) {
      const v = await this.get(key);
      if (v) out.push({ key, ...v });
    }
    return out;
  }
}
