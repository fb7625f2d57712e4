import { childPath, isRecord, kindOf, Problems } from '../common/shape.js';
import { parseBudgets, parseKeys, type BudgetSettings, type KeySettings } from './access-settings.js';
import { checkRecordTargets, parseProvider, type ProviderSettings } from './provider-settings.js';
import { parseRouting, type RoutingSettings } from './routing-settings.js';

export { PROVIDER_TYPES, type ProviderSettings, type ProviderType } from './provider-settings.js';

/** One entry of an alias's ordered list: `provider/model`. */
export interface ModelTarget {
  ref: string;
  provider: string;
  model: string;
}

/** USD per million tokens, as configured. */
export interface ModelPrice {
  inputPerMtok: number;
  outputPerMtok: number;
  /** Input tokens read from the vendor's prompt cache; absent: the vendor's ratio (pricing/cost.ts). */
  cachedInputPerMtok?: number;
  /** Input tokens written to the prompt cache (Anthropic's cache_creation); absent: the vendor's ratio. */
  cacheWritePerMtok?: number;
}

export interface LlmSettings {
  providers: ReadonlyMap<string, ProviderSettings>;
  /** Alias -> ordered targets: the first answers, the rest are fallbacks. */
  models: ReadonlyMap<string, readonly ModelTarget[]>;
  /** `provider/model` -> price. */
  prices: ReadonlyMap<string, ModelPrice>;
  routing: RoutingSettings;
  /** Gateway API keys: permissions and budgets (llm.keys). */
  keys: ReadonlyMap<string, KeySettings>;
  budgets: BudgetSettings;
}

export class LlmSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid llm section: ${problems.join('; ')}`);
    this.name = 'LlmSettingsError';
  }
}

const ALIAS = /^[A-Za-z0-9_.:-]+$/;

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
  p.unknownKeys(path, raw, ['input_per_mtok', 'output_per_mtok', 'cached_input_per_mtok', 'cache_write_per_mtok']);
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
  const write = num('cache_write_per_mtok', false);
  if (input === undefined || output === undefined) return undefined;
  return {
    inputPerMtok: input,
    outputPerMtok: output,
    ...(cached !== undefined ? { cachedInputPerMtok: cached } : {}),
    ...(write !== undefined ? { cacheWritePerMtok: write } : {}),
  };
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
  if (!isRecord(raw))
    throw new LlmSettingsError([
      raw === undefined || raw === null ? 'llm: is required (providers, models and prices)' : `llm: must be a mapping, got ${kindOf(raw)}`,
    ]);
  p.unknownKeys('llm', raw, ['providers', 'models', 'prices', 'routing', 'keys', 'budgets']);

  const providers = new Map<string, ProviderSettings>();
  const declaredProviders = section(p, raw, 'providers');
  for (const [name, value] of Object.entries(declaredProviders)) {
    const parsed = parseProvider(p, childPath('llm.providers', name), name, value, configDir);
    if (parsed) providers.set(name, parsed);
  }
  // A provider with a bad body is still a known name: do not also report its every use as unknown.
  const known = new Set(Object.keys(declaredProviders));
  checkRecordTargets(p, providers);
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

  const routing = parseRouting(p, raw.routing);
  const keys = parseKeys(p, raw.keys, new Set(models.keys()));
  const budgets = parseBudgets(p, raw.budgets);
  if (!p.empty) throw new LlmSettingsError(p.list);
  return { providers, models, prices, routing, keys, budgets };
}
