import { createHash } from 'node:crypto';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';

/** No chunk for this long: the read is stuck (see readObject). */
export const OBJECT_STALL_MS = 5_000;
/** Reads of one object started before giving up (each after a stall). */
export const OBJECT_READ_TRIES = 3;

const STALLED = Symbol('stalled');

function withinStall<T>(p: Promise<T>, ms: number): Promise<T | typeof STALLED> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<typeof STALLED>((resolve) => (timer = setTimeout(() => resolve(STALLED), ms)));
  return Promise.race([p, stall]).finally(() => clearTimeout(timer));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Reads the one chunk of an object by its id (a stored-message lookup: no consumer), null when it is gone. */
export type ChunkReader = (nuid: string) => Promise<Uint8Array | null>;

export interface ReadObjectOptions {
  stallMs?: number;
  tries?: number;
  /** Objects of one chunk are read with this, when given, instead of a consumer per read. */
  oneChunk?: ChunkReader;
}

/** Whether the bytes are the object's (its digest is `SHA-256=` and padded base64url). */
function matchesDigest(data: Uint8Array, digest: string): boolean {
  return digest.startsWith('SHA-256=') && digest.slice(8).replace(/=+$/, '') === createHash('sha256').update(data).digest('base64url');
}

/**
 * An object's bytes, or undefined when there is none. The client's own read waits forever for
 * chunks that a new version of the object purged after the read looked the object up (a live
 * transcript is rewritten every few seconds while the dashboard reads it): a dashboard request
 * hung until the test's 300 s limit. Here a read that gets no chunk for `stallMs` is stopped (its
 * consumer with it) and started again from the object's current version, a few times, then fails
 * naming the object. An object of one chunk (most artifacts) is one stored-message lookup: no
 * consumer, which the client's read leaves behind for five minutes, and no wait.
 */
export async function readObject(
  store: ObjectStore,
  key: string,
  options: ReadObjectOptions = {},
): Promise<{ info: ObjectInfo; data: Uint8Array } | undefined> {
  const { stallMs = OBJECT_STALL_MS, tries = OBJECT_READ_TRIES, oneChunk } = options;
  for (let attempt = 1; attempt <= tries; attempt += 1) {
    const info = await store.info(key);
    if (!info || info.deleted) return undefined;
    if (oneChunk && info.chunks <= 1 && !info.options?.link) {
      const data = info.size === 0 ? new Uint8Array() : await oneChunk(info.nuid);
      // Gone, or another version's: a new version replaced it since the lookup.
      if (data && (info.size === 0 || matchesDigest(data, info.digest))) return { info, data };
      continue;
    }
    const read = await streamed(store, key, stallMs);
    if (read) return read;
  }
  throw new Error(`reading object ${key} stalled ${tries} times (no data for ${stallMs} ms each): its chunks are gone`);
}

/** The client's chunked read, stopped when it stalls (undefined: start again). */
async function streamed(store: ObjectStore, key: string, stallMs: number): Promise<{ info: ObjectInfo; data: Uint8Array } | undefined> {
  const r = await store.get(key);
  if (!r) return undefined;
  const reader = r.data.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const next = await withinStall(reader.read(), stallMs);
    if (next === STALLED) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    if (next.done) break;
    chunks.push(next.value);
  }
  const error = await r.error;
  if (error) throw error;
  return { info: r.info, data: concat(chunks) };
}
