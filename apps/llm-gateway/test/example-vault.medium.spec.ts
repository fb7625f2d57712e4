import 'reflect-metadata';
import { utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { tempDir, type TempDir } from '@agency/testing';
import { LlmConfigSource } from '../src/config/llm-config.source.js';
import { ApiKeySet } from '../src/auth/api-key-set.js';
import { Environment } from '../src/common/environment.js';
import type { LlmGatewayConfig } from '../src/llm-gateway.config.js';
import { CassetteFileRepository } from '../src/providers/cassette/cassette-file.repository.js';
import { HttpTransport } from '../src/providers/http/http.transport.js';
import type { LlmChatRequest } from '../src/providers/llm-provider.js';
import { ProviderFactory } from '../src/providers/provider.factory.js';
import { ProviderRegistry } from '../src/providers/provider.registry.js';
import { ScriptFileRepository } from '../src/providers/scripted/script-file.repository.js';

const EXAMPLE_VAULT = resolve(import.meta.dirname, '../../../examples/vault');

function registryFor(vault: string): ProviderRegistry {
  const config = { VAULT_PATH: vault, GATEWAY_API_KEYS: ApiKeySet.parse('agents:agents-secret-0123456789') } as LlmGatewayConfig;
  const clock = new Clock();
  const logger = createLogger({ service: 'llm-gateway', level: 'silent' });
  const factory = new ProviderFactory(new ScriptFileRepository(), new HttpTransport(), new CassetteFileRepository(), new Environment({}), clock, logger);
  const registry = new ProviderRegistry(new LlmConfigSource(config, clock), factory, config, clock, logger);
  registry.onModuleInit();
  return registry;
}

const ask = (alias: string, frId: string): LlmChatRequest => ({
  alias,
  model: alias,
  messages: [{ role: 'user', content: `work on ${frId}` }],
  context: { frId },
});

describe('the example vault on the real file system', () => {
  it('has an llm section and script the gateway accepts, answering FR-001 and any other FR', async () => {
    const registry = registryFor(EXAMPLE_VAULT);
    expect(registry.aliases()).toEqual(['planner', 'coder', 'reviewer']);
    const planner = registry.targets('planner')![0]!;
    expect(planner).toMatchObject({ ref: 'scripted/planner', price: { inputPerMtok: 3, outputPerMtok: 15 } });

    const plan = JSON.parse((await planner.provider.chat(ask('planner', 'FR-001'))).content!);
    expect(plan.steps.map((s: { files: string[] }) => s.files).flat()).toEqual(['src/farewell.js', 'test/farewell.test.js']);
    const code = JSON.parse((await registry.targets('coder')![0]!.provider.chat(ask('coder', 'FR-001'))).content!);
    expect(code.files.map((f: { path: string }) => f.path)).toEqual(['src/farewell.js', 'test/farewell.test.js']);
    const review = JSON.parse((await registry.targets('reviewer')![0]!.provider.chat(ask('reviewer', 'FR-001'))).content!);
    expect(review).toMatchObject({ verdict: 'approve', confidence: 0.92 });

    const other = JSON.parse((await registry.targets('coder')![0]!.provider.chat(ask('coder', 'FR-042'))).content!);
    expect(other.files).toEqual([{ path: 'docs/FR-042.md', content: '# FR-042\n\nImplemented by the agency.\n' }]);
  });
});

describe('ScriptFileRepository', () => {
  let dir: TempDir;
  beforeEach(() => (dir = tempDir('llm-script-')));
  afterEach(() => dir.remove());

  it('re-reads a script when it changes, and names the file and path of a problem', () => {
    const file = join(dir.path, 'llm-script.yaml');
    const repo = new ScriptFileRepository();
    writeFileSync(file, 'version: 1\nrules:\n  - match: { model: a }\n    reply: { content: one }\n');
    const first = repo.load(file);
    expect(repo.load(file)).toBe(first);
    writeFileSync(file, 'version: 1\nrules:\n  - match: { model: a }\n    reply: { content: two }\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(repo.load(file).rules[0]!.replies[0]!.content).toBe('two');
    writeFileSync(file, 'version: 1\nrules:\n  - match: { modl: a }\n    reply: { content: two }\n');
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    expect(() => repo.load(file)).toThrow(
      `${file}: rules[0].match: unknown key "modl" (allowed: model, fr, contains); rules[0].match.model: is required (the model alias this rule answers)`,
    );
    writeFileSync(file, 'version: 1\nrules: [\n');
    utimesSync(file, new Date(), new Date(Date.now() + 15_000));
    expect(() => repo.load(file)).toThrow(/llm-script.yaml: YAML error: /);
    expect(() => repo.load(join(dir.path, 'missing.yaml'))).toThrow(/missing.yaml: cannot read: ENOENT/);
  });
});
