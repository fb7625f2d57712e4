import { AGENT_ROLES } from '@agency/contracts';
import { loadAgencyConfig } from './agency-config.js';
import { loadAgent } from './agents.js';

/** One model alias an agent may be asked to use, and where the vault says so. */
export interface ModelUse {
  alias: string;
  where: string;
  /** The provider types its targets resolve to (`scripted`, `openai`, ...); `unknown` for an alias or provider the vault does not declare. */
  types: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The provider types an alias's targets (`provider/model`, one or a list) resolve to in `llm`. */
function typesOf(alias: string, llm: Record<string, unknown>): string[] {
  const models = isRecord(llm.models) ? llm.models : {};
  const providers = isRecord(llm.providers) ? llm.providers : {};
  const declared = models[alias];
  const targets = typeof declared === 'string' ? [declared] : Array.isArray(declared) ? declared : [];
  if (targets.length === 0) return ['unknown'];
  return targets.map((t) => {
    const provider = typeof t === 'string' ? providers[t.split('/')[0] ?? ''] : undefined;
    return isRecord(provider) && typeof provider.type === 'string' ? provider.type : 'unknown';
  });
}

/**
 * Every alias the agents may use, per the vault: each agent file's `model` (20_agents/<role>.md)
 * and each tier's `models.<role>`, with the provider types it resolves to in agency.yaml's `llm`.
 * Read from the vault on every call, so an edit to agency.yaml counts at once.
 */
export function modelsInUse(vaultPath: string): ModelUse[] {
  const config = loadAgencyConfig(vaultPath);
  const llm = isRecord(config.llm) ? config.llm : {};
  const uses: ModelUse[] = [];
  for (const role of AGENT_ROLES) {
    let model: string | undefined;
    try {
      model = loadAgent(vaultPath, role).model;
    } catch {
      continue; // no usable agent file (the tester has none): that agent cannot run, so it calls no model
    }
    if (model) uses.push({ alias: model, where: `20_agents/${role}.md`, types: typesOf(model, llm) });
  }
  for (const tier of config.tiers) {
    for (const [role, alias] of Object.entries(tier.models)) {
      if (typeof alias === 'string') uses.push({ alias, where: `tiers.${tier.name}.models.${role}`, types: typesOf(alias, llm) });
    }
  }
  return uses;
}

/**
 * The aliases that are not scripted (a live model, or one the vault cannot resolve), in words, one
 * per alias with where it is used (the first place, and how many more); empty when every one is
 * scripted. One line per use repeated each alias for every tier (570 characters for three aliases).
 */
export function nonScriptedModels(vaultPath: string): string[] {
  const byAlias = new Map<string, { types: string[]; where: string[] }>();
  for (const u of modelsInUse(vaultPath)) {
    if (!u.types.some((t) => t !== 'scripted')) continue;
    const seen = byAlias.get(u.alias);
    if (seen) seen.where.push(u.where);
    else byAlias.set(u.alias, { types: u.types, where: [u.where] });
  }
  return [...byAlias].map(([alias, { types, where }]) => {
    const more = where.length > 1 ? ` and ${where.length - 1} more` : '';
    return `${alias} (${types.join(', ')}; ${where[0]}${more})`;
  });
}
