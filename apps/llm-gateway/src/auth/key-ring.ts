import { Injectable } from '@nestjs/common';
import type { BudgetPeriod, KeySettings } from '../config/access-settings.js';
import { LlmGatewayConfig } from '../llm-gateway.config.js';
import { ProviderRegistry } from '../providers/provider.registry.js';
import { sha256Hex } from './api-key-set.js';

/** Who is calling: a gateway key with its permissions and budget. */
export interface CallerKey {
  id: string;
  /** Aliases the key may call; undefined: all. */
  models?: ReadonlySet<string>;
  budgetUsd?: number;
  budgetPeriod: BudgetPeriod;
}

/**
 * Every valid gateway key: the internal ones from GATEWAY_API_KEYS and the ones llm.keys
 * declares by their sha256, with the permissions and budgets llm.keys gives them. A presented
 * secret is hashed and looked up; secrets are never stored, hashes never printed.
 */
@Injectable()
export class KeyRing {
  private built?: { source: ReadonlyMap<string, KeySettings>; byHash: Map<string, CallerKey> };

  constructor(
    private readonly config: LlmGatewayConfig,
    private readonly registry: ProviderRegistry,
  ) {}

  identify(secret: string): CallerKey | undefined {
    return this.ring().get(sha256Hex(secret));
  }

  private ring(): Map<string, CallerKey> {
    const keys = this.registry.settings().keys;
    if (this.built?.source === keys) return this.built.byHash;
    const byHash = new Map<string, CallerKey>();
    const caller = (id: string): CallerKey => {
      const s = keys.get(id);
      return {
        id,
        budgetPeriod: s?.budgetPeriod ?? 'total',
        ...(s?.models ? { models: new Set(s.models) } : {}),
        ...(s?.budgetUsd !== undefined ? { budgetUsd: s.budgetUsd } : {}),
      };
    };
    for (const { id, sha256 } of this.config.GATEWAY_API_KEYS.hashes()) byHash.set(sha256, caller(id));
    for (const s of keys.values()) if (s.sha256) byHash.set(s.sha256, caller(s.id));
    this.built = { source: keys, byHash };
    return byHash;
  }
}
