import { isAbsolute, resolve } from 'node:path';
import { childPath, isRecord, kindOf, type Problems } from '../common/shape.js';
import { REPLAY_MATCHES, type ReplayMatch } from '../providers/cassette/replay.transport.js';

export const PROVIDER_TYPES = ['scripted', 'openai', 'anthropic', 'openai-compatible', 'record', 'replay'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];
/** Providers that call a vendor over HTTP (and so can be recorded). */
export const HTTP_PROVIDER_TYPES = ['openai', 'anthropic', 'openai-compatible'] as const;
export type HttpProviderType = (typeof HTTP_PROVIDER_TYPES)[number];

/** Timeouts and limits of an HTTP provider; each absent field takes its default (http-options.ts). */
export interface HttpProviderLimits {
  /** Longest wait for the first byte of the vendor's answer. */
  timeoutMs?: number;
  /** Longest silence between two pieces of an answer that has started. */
  idleTimeoutMs?: number;
  /** Calls in flight at once; more wait for a free slot. */
  maxConcurrency?: number;
  requestsPerMinute?: number;
  /** Input + output tokens per minute (the input is estimated before the call, corrected after). */
  tokensPerMinute?: number;
  /** max_tokens sent to Anthropic when the caller gives none (Anthropic requires one). */
  defaultMaxTokens?: number;
  /** Extra request headers (e.g. OpenRouter's HTTP-Referer and X-Title). */
  headers?: Record<string, string>;
  /**
   * Whether a non-streaming call is asked of the vendor as a stream (and assembled): true always,
   * false never (a server that cannot stream), 'auto' (the default) when its answer may outlast the
   * first-byte timeout (streamsUpstream in http.provider.ts).
   */
  streamUpstream?: boolean | 'auto';
}

export type HttpProviderSettings =
  | ({
      name: string;
      type: 'openai' | 'anthropic';
      /** Variable holding the vendor key (never the key itself). */ apiKeyEnv: string;
      baseUrl?: string;
    } & HttpProviderLimits)
  | ({ name: string; type: 'openai-compatible'; baseUrl: string; apiKeyEnv?: string } & HttpProviderLimits);

export type ProviderSettings =
  | { name: string; type: 'scripted'; /** Absolute path of the script file. */ script: string }
  | HttpProviderSettings
  /** Calls `provider` and writes every exchange to `cassette`. */
  | { name: string; type: 'record'; provider: string; cassette: string }
  /** Answers from a cassette written by a record provider, offline; matched byte for byte or by conversation. */
  | { name: string; type: 'replay'; cassette: string; match: ReplayMatch };

const DEFAULT_KEY_ENV: Record<'openai' | 'anthropic', string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };
const NAME = /^[A-Za-z0-9_.-]+$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const HEADER_NAME = /^[A-Za-z0-9-]+$/;
/** Headers the provider sets itself; configuring them would leak or break the vendor key. */
const RESERVED_HEADERS = ['authorization', 'x-api-key', 'content-type', 'content-length', 'host', 'anthropic-version'];

const LIMIT_KEYS: Record<string, { field: keyof HttpProviderLimits; min: number; max: number; what: string }> = {
  timeout_ms: { field: 'timeoutMs', min: 1, max: 3_600_000, what: 'milliseconds' },
  idle_timeout_ms: { field: 'idleTimeoutMs', min: 1, max: 3_600_000, what: 'milliseconds' },
  max_concurrency: { field: 'maxConcurrency', min: 1, max: 100_000, what: 'calls' },
  requests_per_minute: { field: 'requestsPerMinute', min: 1, max: 10_000_000, what: 'requests' },
  tokens_per_minute: { field: 'tokensPerMinute', min: 1, max: 1_000_000_000, what: 'tokens' },
  default_max_tokens: { field: 'defaultMaxTokens', min: 1, max: 10_000_000, what: 'tokens' },
};

export function optionalString(p: Problems, path: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    p.add(path, `must be a non-empty string, got ${kindOf(value)}`);
    return undefined;
  }
  return value;
}

function checkUrl(p: Problems, path: string, value: string | undefined): void {
  if (value !== undefined && !/^https?:\/\/[^\s]+$/.test(value)) p.add(path, `must be an http(s) URL, got "${value}"`);
}

function checkEnvName(p: Problems, path: string, value: string | undefined): void {
  if (value !== undefined && !ENV_NAME.test(value)) p.add(path, `must name an environment variable (like OPENAI_API_KEY), got "${value}"`);
}

function filePath(p: Problems, path: string, value: unknown, configDir: string, what: string): string | undefined {
  const file = optionalString(p, path, value);
  if (file === undefined) {
    if (value === undefined) p.add(path, `is required (${what}, relative to 40_config)`);
    return undefined;
  }
  return isAbsolute(file) ? file : resolve(configDir, file);
}

function parseLimits(p: Problems, path: string, raw: Record<string, unknown>): HttpProviderLimits {
  const out: HttpProviderLimits = {};
  for (const [key, rule] of Object.entries(LIMIT_KEYS)) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < rule.min || v > rule.max) {
      p.add(childPath(path, key), `must be a whole number of ${rule.what} from ${rule.min} to ${rule.max}, got ${typeof v === 'number' ? v : kindOf(v)}`);
      continue;
    }
    (out as Record<string, number>)[rule.field] = v;
  }
  if (raw.stream_upstream !== undefined) {
    if (typeof raw.stream_upstream !== 'boolean' && raw.stream_upstream !== 'auto')
      p.add(
        childPath(path, 'stream_upstream'),
        `must be true, false or auto, got ${typeof raw.stream_upstream === 'string' ? `"${raw.stream_upstream}"` : kindOf(raw.stream_upstream)}`,
      );
    else out.streamUpstream = raw.stream_upstream;
  }
  if (raw.headers !== undefined) {
    const hp = childPath(path, 'headers');
    if (!isRecord(raw.headers)) p.add(hp, `must be a mapping of header names to strings, got ${kindOf(raw.headers)}`);
    else {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(raw.headers)) {
        if (!HEADER_NAME.test(name)) p.add(childPath(hp, name), 'is not a valid header name');
        else if (RESERVED_HEADERS.includes(name.toLowerCase())) p.add(childPath(hp, name), 'is set by the gateway itself and cannot be configured');
        else if (typeof value !== 'string') p.add(childPath(hp, name), `must be a string, got ${kindOf(value)}`);
        else headers[name] = value;
      }
      out.headers = headers;
    }
  }
  return out;
}

/** One entry of llm.providers; undefined (with problems added) when it cannot be used. */
export function parseProvider(p: Problems, path: string, name: string, raw: unknown, configDir: string): ProviderSettings | undefined {
  if (!NAME.test(name)) p.add(path, 'provider names may only contain letters, digits, "_", "." and "-"');
  if (!isRecord(raw)) {
    p.add(path, `must be a mapping with a type, got ${kindOf(raw)}`);
    return undefined;
  }
  const type = raw.type;
  if (typeof type !== 'string' || !(PROVIDER_TYPES as readonly string[]).includes(type)) {
    p.add(childPath(path, 'type'), `must be one of ${PROVIDER_TYPES.join(', ')}, got ${typeof type === 'string' ? `"${type}"` : kindOf(type)}`);
    return undefined;
  }
  const t = type as ProviderType;
  switch (t) {
    case 'scripted': {
      p.unknownKeys(path, raw, ['type', 'script']);
      const script = filePath(p, childPath(path, 'script'), raw.script, configDir, 'the reply script');
      return script === undefined ? undefined : { name, type: t, script };
    }
    case 'record': {
      p.unknownKeys(path, raw, ['type', 'provider', 'cassette']);
      const inner = optionalString(p, childPath(path, 'provider'), raw.provider);
      if (raw.provider === undefined)
        p.add(childPath(path, 'provider'), 'is required (the name of the openai, anthropic or openai-compatible provider to record)');
      const cassette = filePath(p, childPath(path, 'cassette'), raw.cassette, configDir, 'the cassette file to write');
      return inner === undefined || cassette === undefined ? undefined : { name, type: t, provider: inner, cassette };
    }
    case 'replay': {
      p.unknownKeys(path, raw, ['type', 'cassette', 'match']);
      const cassette = filePath(p, childPath(path, 'cassette'), raw.cassette, configDir, 'the cassette a record provider wrote');
      const match = raw.match ?? 'exact';
      if (!(REPLAY_MATCHES as readonly unknown[]).includes(match))
        p.add(childPath(path, 'match'), `must be one of ${REPLAY_MATCHES.join(', ')}, got ${typeof match === 'string' ? `"${match}"` : kindOf(match)}`);
      return cassette === undefined ? undefined : { name, type: t, cassette, match: match as ReplayMatch };
    }
    default: {
      p.unknownKeys(path, raw, ['type', 'base_url', 'api_key_env', 'headers', 'stream_upstream', ...Object.keys(LIMIT_KEYS)]);
      const baseUrl = optionalString(p, childPath(path, 'base_url'), raw.base_url);
      const apiKeyEnv = optionalString(p, childPath(path, 'api_key_env'), raw.api_key_env);
      checkUrl(p, childPath(path, 'base_url'), baseUrl);
      checkEnvName(p, childPath(path, 'api_key_env'), apiKeyEnv);
      const limits = parseLimits(p, path, raw);
      if (t === 'openai-compatible') {
        if (baseUrl === undefined) {
          if (raw.base_url === undefined) p.add(childPath(path, 'base_url'), 'is required for an openai-compatible provider');
          return undefined;
        }
        return { name, type: t, baseUrl, ...(apiKeyEnv ? { apiKeyEnv } : {}), ...limits };
      }
      return { name, type: t, apiKeyEnv: apiKeyEnv ?? DEFAULT_KEY_ENV[t], ...(baseUrl ? { baseUrl } : {}), ...limits };
    }
  }
}

/** A record provider must wrap an HTTP provider of the same section. */
export function checkRecordTargets(p: Problems, providers: ReadonlyMap<string, ProviderSettings>): void {
  for (const s of providers.values()) {
    if (s.type !== 'record') continue;
    const inner = providers.get(s.provider);
    const path = childPath(childPath('llm.providers', s.name), 'provider');
    if (!inner) p.add(path, `unknown provider "${s.provider}" (providers: ${[...providers.keys()].join(', ')})`);
    else if (!(HTTP_PROVIDER_TYPES as readonly string[]).includes(inner.type)) {
      p.add(path, `"${s.provider}" is a ${inner.type} provider; only ${HTTP_PROVIDER_TYPES.join(', ')} providers can be recorded`);
    }
  }
}
