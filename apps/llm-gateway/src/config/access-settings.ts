import { childPath, isRecord, kindOf, type Problems } from '../common/shape.js';

export const BUDGET_PERIODS = ['day', 'month', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** llm.keys.<id>: a gateway API key's permissions and budget. */
export interface KeySettings {
  id: string;
  /**
   * sha256 (hex) of the key's secret: the secret itself is never stored. Absent: the entry only
   * sets limits for the key of the same id in GATEWAY_API_KEYS.
   */
  sha256?: string;
  /** Aliases the key may call; absent: all. */
  models?: string[];
  /** Spend limit in USD per period. */
  budgetUsd?: number;
  budgetPeriod: BudgetPeriod;
}

/** llm.budgets: per-FR spend limits. */
export interface BudgetSettings {
  /** Budget of an FR whose calls carry no x-agency-fr-budget-usd header; absent: unlimited. */
  perFrUsd?: number;
  /** The most an x-agency-fr-budget-usd header may set; absent: any amount. */
  maxPerFrUsd?: number;
}

const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;

function usd(p: Problems, path: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    p.add(path, `must be a number of USD >= 0, got ${typeof v === 'number' ? v : kindOf(v)}`);
    return undefined;
  }
  return v;
}

export function parseKeys(p: Problems, raw: unknown, aliases: ReadonlySet<string>): Map<string, KeySettings> {
  const keys = new Map<string, KeySettings>();
  if (raw === undefined) return keys;
  if (!isRecord(raw)) {
    p.add('llm.keys', `must be a mapping of key ids, got ${kindOf(raw)}`);
    return keys;
  }
  const hashes = new Map<string, string>();
  for (const [id, value] of Object.entries(raw)) {
    const path = childPath('llm.keys', id);
    if (!KEY_ID.test(id)) p.add(path, 'key ids may only contain letters, digits, "_", "." and "-" (1-64 characters)');
    if (!isRecord(value)) {
      p.add(path, `must be a mapping (sha256, models, budget_usd, budget_period), got ${kindOf(value)}`);
      continue;
    }
    p.unknownKeys(path, value, ['sha256', 'models', 'budget_usd', 'budget_period']);
    const key: KeySettings = { id, budgetPeriod: 'total' };
    if (value.sha256 !== undefined) {
      if (typeof value.sha256 !== 'string' || !SHA256.test(value.sha256))
        p.add(childPath(path, 'sha256'), 'must be the 64 lower-case hex digits of sha256(secret), e.g. from `printf %s "$SECRET" | sha256sum`');
      else if (hashes.has(value.sha256)) p.add(childPath(path, 'sha256'), `is the same key as llm.keys.${hashes.get(value.sha256)}`);
      else {
        key.sha256 = value.sha256;
        hashes.set(value.sha256, id);
      }
    }
    if (value.models !== undefined) {
      const mp = childPath(path, 'models');
      if (!Array.isArray(value.models) || value.models.some((m) => typeof m !== 'string'))
        p.add(mp, `must be a list of model aliases, got ${kindOf(value.models)}`);
      else {
        value.models.forEach((m: string, i) => {
          if (!aliases.has(m)) p.add(childPath(mp, i), `unknown alias "${m}" (aliases: ${[...aliases].join(', ')})`);
        });
        key.models = value.models as string[];
      }
    }
    const budget = usd(p, childPath(path, 'budget_usd'), value.budget_usd);
    if (budget !== undefined) key.budgetUsd = budget;
    if (value.budget_period !== undefined) {
      if (!(BUDGET_PERIODS as readonly unknown[]).includes(value.budget_period))
        p.add(childPath(path, 'budget_period'), `must be one of ${BUDGET_PERIODS.join(', ')}, got ${JSON.stringify(value.budget_period)}`);
      else key.budgetPeriod = value.budget_period as BudgetPeriod;
    }
    keys.set(id, key);
  }
  return keys;
}

export function parseBudgets(p: Problems, raw: unknown): BudgetSettings {
  if (raw === undefined) return {};
  if (!isRecord(raw)) {
    p.add('llm.budgets', `must be a mapping (per_fr_usd, max_per_fr_usd), got ${kindOf(raw)}`);
    return {};
  }
  p.unknownKeys('llm.budgets', raw, ['per_fr_usd', 'max_per_fr_usd']);
  const perFrUsd = usd(p, 'llm.budgets.per_fr_usd', raw.per_fr_usd);
  const maxPerFrUsd = usd(p, 'llm.budgets.max_per_fr_usd', raw.max_per_fr_usd);
  return { ...(perFrUsd !== undefined ? { perFrUsd } : {}), ...(maxPerFrUsd !== undefined ? { maxPerFrUsd } : {}) };
}
