import { createHash } from 'node:crypto';
import type { KeySettings } from '../config/access-settings.js';
import type { LlmGatewayConfig } from '../llm-gateway.config.js';
import type { ProviderRegistry } from '../providers/provider.registry.js';
import { ApiKeySet } from './api-key-set.js';
import { KeyRing } from './key-ring.js';

const AGENTS = 'agents-secret-0123456789';
const TOOLS = 'tools-secret-abcdefghijklmnop';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('KeyRing', () => {
  let keys: Map<string, KeySettings>;
  let ring: KeyRing;

  beforeEach(() => {
    keys = new Map();
    const registry = { settings: () => ({ keys }) } as unknown as ProviderRegistry;
    ring = new KeyRing({ GATEWAY_API_KEYS: ApiKeySet.parse(`agents:${AGENTS}`) } as LlmGatewayConfig, registry);
  });

  it('knows the GATEWAY_API_KEYS keys, with no limits unless llm.keys gives some', () => {
    expect(ring.identify(AGENTS)).toEqual({ id: 'agents', budgetPeriod: 'total' });
    expect(ring.identify(TOOLS)).toBeUndefined();
    keys = new Map([['agents', { id: 'agents', models: ['planner'], budgetPeriod: 'day', budgetUsd: 2 }]]);
    expect(ring.identify(AGENTS)).toEqual({ id: 'agents', models: new Set(['planner']), budgetUsd: 2, budgetPeriod: 'day' });
  });

  it('knows keys declared in llm.keys by their hash alone', () => {
    keys = new Map([['tools', { id: 'tools', sha256: sha(TOOLS), models: ['coder'], budgetUsd: 20, budgetPeriod: 'month' }]]);
    expect(ring.identify(TOOLS)).toEqual({ id: 'tools', models: new Set(['coder']), budgetUsd: 20, budgetPeriod: 'month' });
    expect(ring.identify(`${TOOLS} `)).toBeUndefined();
    // Edits to llm.keys apply at once (the registry hands out a new map).
    keys = new Map();
    expect(ring.identify(TOOLS)).toBeUndefined();
  });
});
