import { RetryingLazy } from './retrying-lazy.js';
import { createHash } from 'node:crypto';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { BUCKETS, type ArtifactRefDto } from '@agency/contracts';
import type { BusConnection } from './bus-connection.js';
import { PermanentError } from './errors.js';
import { OBJECT_STALL_MS, readObject, type ReadObjectOptions } from './object-read.js';

/** Plans, diffs, bundles, reports and transcripts, in the JetStream object store. */
export class ArtifactStore {
  private store?: RetryingLazy<ObjectStore>;

  private readonly reads: ReadObjectOptions;

  /** @param stallMs how long a read may go without data before it starts again (tests shorten it). */
  constructor(
    private readonly bus: BusConnection,
    stallMs = OBJECT_STALL_MS,
  ) {
    const stream = `OBJ_${BUCKETS.artifacts}`;
    const oneChunk = async (nuid: string) =>
      (await this.bus.jsm.streams.getMessage(stream, { last_by_subj: `$O.${BUCKETS.artifacts}.C.${nuid}` }))?.data ?? null;
    this.reads = { stallMs, oneChunk };
  }

  private open(): Promise<ObjectStore> {
    this.store ??= new RetryingLazy(() => new Objm(this.bus.js).create(BUCKETS.artifacts, { description: 'agency artifacts' }));
    return this.store.get();
  }

  async put(key: string, data: Uint8Array | string, contentType: string): Promise<ArtifactRefDto> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const store = await this.open();
    await store.putBlob({ name: key, description: contentType }, bytes);
    return { key, size: bytes.byteLength, sha256, contentType };
  }

  async putJson(key: string, value: unknown): Promise<ArtifactRefDto> {
    return this.put(key, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
  }

  /** Reads an artifact and checks it is the one the reference names. */
  async get(ref: ArtifactRefDto): Promise<Uint8Array> {
    const data = (await readObject(await this.open(), ref.key, this.reads))?.data;
    if (!data) throw new PermanentError(`artifact ${ref.key} does not exist`, 'ARTIFACT_MISSING');
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== ref.sha256) throw new PermanentError(`artifact ${ref.key} has sha256 ${sha256}, expected ${ref.sha256}`, 'ARTIFACT_CORRUPT');
    return data;
  }

  /**
   * An artifact by key when it exists, with its reference: for artifacts a later step looks for
   * without an event naming them (a stopped attempt's checkpoints).
   */
  async find(key: string): Promise<{ ref: ArtifactRefDto; data: Uint8Array } | undefined> {
    const found = await readObject(await this.open(), key, this.reads);
    if (!found) return undefined;
    const { info, data } = found;
    const sha256 = createHash('sha256').update(data).digest('hex');
    return { ref: { key, size: data.byteLength, sha256, contentType: info.description ?? 'application/octet-stream' }, data };
  }

  async getText(ref: ArtifactRefDto): Promise<string> {
    return new TextDecoder().decode(await this.get(ref));
  }

  async getJson<T>(ref: ArtifactRefDto): Promise<T> {
    return JSON.parse(await this.getText(ref)) as T;
  }
}
