import { isAbsolute, resolve } from 'node:path';
import { childPath, isRecord, kindOf, Problems } from '../common/shape.js';

export const PROVIDER_TYPES = ['scripted', 'openai', 'anthropic', 'openai-compatible'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export type ProviderSettings =
  | { name: string; type: 'scripted'; /** Absolute path of the script file. */ script: string }
  | { name: string; type: 'openai' | 'anthropic'; /** Variable holding the vendor key (never the key itself). */ apiKeyEnv: string; baseUrl?: string }
  | { name: string; type: 'openai-compatible'; baseUrl: string; apiKeyEnv?: string };

/** One entry of an alias's ordered list: `provider/model`. */
export interface ModelTarget {
  ref: string;
  provider: string;
  model: string;
}

/** USD per million tokens. */
export interface ModelPrice {
  inputPerMtok: number;
  outputPerMtok: number;
  /** Price of input tokens served from the vendor's prompt cache; the input price when absent. */
  cachedInputPerMtok?: number;
}

export interface LlmSettings {
  providers: ReadonlyMap<string, ProviderSettings>;
  /** Alias -> ordered targets: the first answers, the rest are fallbacks. */
  models: ReadonlyMap<string, readonly ModelTarget[]>;
  /** `provider/model` -> price. */
  prices: ReadonlyMap<string, ModelPrice>;
}

export class LlmSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid llm section: ${problems.join('; ')}`);
    this.name = 'LlmSettingsError';
  }
}

const DEFAULT_KEY_ENV: Record<'openai' | 'anthropic', string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };
const NAME = /^[A-Za-z0-9_.-]+$/;
const ALIAS = /^[A-Za-z0-9_.:-]+$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

function optionalString(p: Problems, path: string, value: unknown): string | undefined {
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

function parseProvider(p: Problems, path: string, name: string, raw: unknown, configDir: string): ProviderSettings | undefined {
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
  if (t === 'scripted') {
    p.unknownKeys(path, raw, ['type', 'script']);
    const script = optionalString(p, childPath(path, 'script'), raw.script);
    if (script === undefined) {
      if (raw.script === undefined) p.add(childPath(path, 'script'), 'is required for a scripted provider (the reply script, relative to 40_config)');
      return undefined;
    }
    return { name, type: t, script: isAbsolute(script) ? script : resolve(configDir, script) };
  }
  p.unknownKeys(path, raw, ['type', 'base_url', 'api_key_env']);
  const baseUrl = optionalString(p, childPath(path, 'base_url'), raw.base_url);
  const apiKeyEnv = optionalString(p, childPath(path, 'api_key_env'), raw.api_key_env);
  checkUrl(p, childPath(path, 'base_url'), baseUrl);
  checkEnvName(p, childPath(path, 'api_key_env'), apiKeyEnv);
  if (t === 'openai-compatible') {
    if (baseUrl === undefined) {
      if (raw.base_url === undefined) p.add(childPath(path, 'base_url'), 'is required for an openai-compatible provider');
      return undefined;
    }
    return { name, type: t, baseUrl, ...(apiKeyEnv ? { apiKeyEnv } : {}) };
  }
  return { name, type: t, apiKeyEnv: apiKeyEnv ?? DEFAULT_KEY_ENV[t], ...(baseUrl ? { baseUrl } : {}) };
}

function parseTarget(p: Problems, path: string, raw: unknown, providers: ReadonlySet<string>): ModelTarget | undefined {
  if (typeof raw !== 'string') {
    p.add(path, `must be a "provider/model" string, got ${kindOf(raw)}`);
    return undefined;
  }
  const slash = raw.indexOf('/');
  if (slash <= 0 || slash === raw.length - 1 || /\s/.test(raw)) {
    p.add(path, `must look like "provider/model", got "${raw}"`);
    return undefined;
  }
  const provider = raw.slice(0, slash);
  if (!providers.has(provider)) {
    p.add(path, `unknown provider "${provider}" (providers: ${[...providers].join(', ') || 'none'})`);
    return undefined;
  }
  return { ref: raw, provider, model: raw.slice(slash + 1) };
}

function parsePrice(p: Problems, path: string, raw: unknown): ModelPrice | undefined {
  if (!isRecord(raw)) {
    p.add(path, `must be a mapping with input_per_mtok and output_per_mtok, got ${kindOf(raw)}`);
    return undefined;
  }
  p.unknownKeys(path, raw, ['input_per_mtok', 'output_per_mtok', 'cached_input_per_mtok']);
  const num = (key: string, required: boolean): number | undefined => {
    const v = raw[key];
    if (v === undefined) {
      if (required) p.add(childPath(path, key), 'is required (USD per million tokens)');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      p.add(childPath(path, key), `must be a number >= 0 (USD per million tokens), got ${typeof v === 'number' ? v : kindOf(v)}`);
      return undefined;
    }
    return v;
  };
  const input = num('input_per_mtok', true);
  const output = num('output_per_mtok', true);
  const cached = num('cached_input_per_mtok', false);
  if (input === undefined || output === undefined) return undefined;
  return { inputPerMtok: input, outputPerMtok: output, ...(cached !== undefined ? { cachedInputPerMtok: cached } : {}) };
}

function section(p: Problems, raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = raw[key];
  if (!isRecord(value)) {
    p.add(`llm.${key}`, value === undefined ? 'is required' : `must be a mapping, got ${kindOf(value)}`);
    return {};
  }
  return value;
}

/**
 * Validates the `llm:` section of agency.yaml. `configDir` is the folder of agency.yaml, which
 * relative paths (the script) resolve from. Throws LlmSettingsError listing every problem with
 * its path, e.g. `llm.models.coder[0]: unknown provider "x"`.
 */
export function parseLlmSettings(raw: unknown, configDir: string): LlmSettings {
  const p = new Problems();
  if (!isRecord(raw)) throw new LlmSettingsError([raw === undefined || raw === null ? 'llm: is required (providers, models and prices)' : `llm: must be a mapping, got ${kindOf(raw)}`]);
  p.unknownKeys('llm', raw, ['providers', 'models', 'prices']);

  const providers = new Map<string, ProviderSettings>();
  const declaredProviders = section(p, raw, 'providers');
  for (const [name, value] of Object.entries(declaredProviders)) {
    const parsed = parseProvider(p, childPath('llm.providers', name), name, value, configDir);
    if (parsed) providers.set(name, parsed);
  }
  // A provider with a bad body is still a known name: do not also report its every use as unknown.
  const known = new Set(Object.keys(declaredProviders));
  if (Object.keys(declaredProviders).length === 0 && isRecord(raw.providers)) p.add('llm.providers', 'must declare at least one provider');

  const prices = new Map<string, ModelPrice>();
  const declaredPrices = section(p, raw, 'prices');
  for (const [ref, value] of Object.entries(declaredPrices)) {
    const path = childPath('llm.prices', ref);
    if (!parseTarget(p, path, ref, known)) continue;
    const price = parsePrice(p, path, value);
    if (price) prices.set(ref, price);
  }

  const models = new Map<string, ModelTarget[]>();
  const declaredModels = section(p, raw, 'models');
  for (const [alias, value] of Object.entries(declaredModels)) {
    const path = childPath('llm.models', alias);
    if (!ALIAS.test(alias)) p.add(path, 'aliases may only contain letters, digits, "_", ".", ":" and "-"');
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0) {
      p.add(path, `must be a non-empty list of "provider/model", got ${kindOf(value)}`);
      continue;
    }
    const targets: ModelTarget[] = [];
    list.forEach((item, i) => {
      const target = parseTarget(p, list === value ? childPath(path, i) : path, item, known);
      if (!target) return;
      if (targets.some((t) => t.ref === target.ref)) p.add(childPath(path, i), `"${target.ref}" is listed twice`);
      // Every model that can answer must have a price, or budgets would silently count it as free.
      else if (!(target.ref in declaredPrices)) {
        p.add(list === value ? childPath(path, i) : path, `"${target.ref}" has no entry in llm.prices`);
      }
      targets.push(target);
    });
    models.set(alias, targets);
  }
  if (Object.keys(declaredModels).length === 0 && isRecord(raw.models)) p.add('llm.models', 'must declare at least one alias');

  if (!p.empty) throw new LlmSettingsError(p.list);
  return { providers, models, prices };
}
