import { createHash } from 'node:crypto';
import { isRecord, kindOf } from '../../common/shape.js';
import type { HttpProviderType } from '../../config/provider-settings.js';
import type { TransportFailure } from '../http/http.transport.js';
import type { CallTags } from './conversation.js';

/** How the recorded provider spoke: replay rebuilds the same wire format from it. */
export interface CassetteWire {
  type: HttpProviderType;
  /** Where it was recorded (credentials removed); informational. */
  baseUrl: string;
  /** Anthropic's default max_tokens at recording time: part of the request, so of its key. */
  defaultMaxTokens?: number;
}

/** A chunk is kept as text when it is valid UTF-8 (readable), else as base64 (exact). */
export type CassetteChunk = string | { base64: string };

/** One request and what came back, byte for byte. One JSON line of the cassette file. */
export interface CassetteExchange {
  cassette: 1;
  provider: string;
  wire: CassetteWire;
  /** sha256 of the request body: what a replayed request is matched by (match: exact). */
  key: string;
  request: { method: string; path: string; body: unknown };
  /** The alias and the x-agency-fr-id and x-agency-step headers of the call (match: conversation). */
  call?: CallTags;
  /** Absent when the vendor could not be reached at all. */
  response?: { status: number; headers: Record<string, string>; chunks: CassetteChunk[] };
  /** A connection failure: before the answer (no response) or in the middle of it. */
  error?: { kind: TransportFailure; message: string; errno?: string };
  recordedAt: string;
}

/**
 * Response headers the gateway reads; the rest are not worth keeping. `date` stamps answers whose
 * body carries no time (Anthropic's), so a replay gives the same `created` as the recording.
 */
export const KEPT_HEADERS = ['content-type', 'retry-after', 'retry-after-ms', 'date'];

export function requestKey(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

export function encodeChunk(chunk: Buffer): CassetteChunk {
  const text = chunk.toString('utf8');
  return Buffer.from(text, 'utf8').equals(chunk) ? text : { base64: chunk.toString('base64') };
}

export function decodeChunk(chunk: CassetteChunk): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.base64, 'base64');
}

/** A URL without user:password, for the record. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export class CassetteError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CassetteError';
  }
}

const WIRE_TYPES = ['openai', 'anthropic', 'openai-compatible'];

/** Checks one parsed line; `where` is "line 3". */
export function checkExchange(value: unknown, file: string, where: string): CassetteExchange {
  const bad = (what: string) => new CassetteError(file, `${where}: ${what}`);
  if (!isRecord(value) || value.cassette !== 1) throw bad(`is not a cassette exchange (version 1), got ${kindOf(value)}`);
  if (!isRecord(value.wire) || !WIRE_TYPES.includes(value.wire.type as string)) throw bad(`wire.type must be one of ${WIRE_TYPES.join(', ')}`);
  if (typeof value.key !== 'string' || !/^[0-9a-f]{64}$/.test(value.key)) throw bad('key must be a sha256 in hex');
  if (value.response !== undefined) {
    const r = value.response;
    if (!isRecord(r) || typeof r.status !== 'number' || !isRecord(r.headers) || !Array.isArray(r.chunks))
      throw bad('response must have status, headers and chunks');
    r.chunks.forEach((c, i) => {
      if (typeof c !== 'string' && !(isRecord(c) && typeof c.base64 === 'string')) throw bad(`response.chunks[${i}] must be a string or {base64}`);
    });
  }
  if (value.error !== undefined && !(isRecord(value.error) && typeof value.error.kind === 'string' && typeof value.error.message === 'string'))
    throw bad('error must have kind and message');
  if (value.response === undefined && value.error === undefined) throw bad('has neither a response nor an error');
  return value as unknown as CassetteExchange;
}
