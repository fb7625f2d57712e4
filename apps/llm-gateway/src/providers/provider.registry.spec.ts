import { Writable } from 'node:stream';
import { parse } from 'yaml';
import { Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { ApiKeySet } from '../auth/api-key-set.js';
import { Environment } from '../common/environment.js';
import type { LlmGatewayConfig } from '../llm-gateway.config.js';
import { CassetteFileRepository } from './cassette/cassette-file.repository.js';
import { HttpTransport } from './http/http.transport.js';
import type { LlmConfigSource, LlmSection } from '../config/llm-config.source.js';
import { ProviderFactory } from './provider.factory.js';
import { ConfigurationError, ProviderRegistry } from './provider.registry.js';
import { parseScript, ScriptError, type LlmScript } from './scripted/llm-script.js';
import type { ScriptFileRepository } from './scripted/script-file.repository.js';

const LLM = `
providers:
  scripted: { type: scripted, script: llm-script.yaml }
models:
  planner: [scripted/planner]
  coder: [scripted/coder]
prices:
  scripted/planner: { input_per_mtok: 3, output_per_mtok: 15 }
  scripted/coder: { input_per_mtok: 1, output_per_mtok: 5 }
`;
const SCRIPT = parseScript(parse('version: 1\nrules:\n  - match: { model: planner }\n    replies: [{ content: one }, { content: two }]\n'), 'llm-script.yaml');

/** agency.yaml as the registry sees it: a new object each time the "file" changes. */
class FakeSource {
  readonly configDir = '/vault/40_config';
  private config: LlmSection | Error;
  constructor(llmYaml: string) {
    this.config = { llm: parse(llmYaml) } as LlmSection;
  }
  edit(llmYaml: string): void {
    this.config = { llm: parse(llmYaml) } as LlmSection;
  }
  breakFile(message: string): void {
    this.config = new Error(message);
  }
  current(): LlmSection {
    if (this.config instanceof Error) throw this.config;
    return this.config;
  }
}

class FakeScripts {
  files: string[] = [];
  script: LlmScript | ScriptError = SCRIPT;
  load(file: string): LlmScript {
    this.files.push(file);
    if (this.script instanceof ScriptError) throw this.script;
    return this.script;
  }
}

describe('ProviderRegistry', () => {
  let source: FakeSource;
  let scripts: FakeScripts;
  let logs: string[];

  let env: Record<string, string>;

  function registry(): ProviderRegistry {
    const sink = new Writable({ write: (chunk, _enc, cb) => (logs.push(String(chunk)), cb()) });
    const logger = createLogger({ service: 'llm-gateway', destination: sink });
    const clock = new Clock();
    const factory = new ProviderFactory(
      scripts as unknown as ScriptFileRepository,
      new HttpTransport(),
      new CassetteFileRepository(),
      new Environment(env),
      clock,
      logger,
    );
    const config = { GATEWAY_API_KEYS: ApiKeySet.parse('agents:agents-secret-0123456789') } as LlmGatewayConfig;
    const r = new ProviderRegistry(source as unknown as LlmConfigSource, factory, config, clock, logger);
    r.onModuleInit();
    return r;
  }

  beforeEach(() => {
    source = new FakeSource(LLM);
    scripts = new FakeScripts();
    logs = [];
    env = {};
  });

  it('resolves an alias to its provider, model and price', () => {
    const r = registry();
    expect(r.aliases()).toEqual(['planner', 'coder']);
    const [target] = r.targets('planner')!;
    expect(target).toMatchObject({ ref: 'scripted/planner', model: 'planner', price: { inputPerMtok: 3, outputPerMtok: 15 } });
    expect(target!.provider).toMatchObject({ name: 'scripted', type: 'scripted' });
    expect(r.settings().routing.retries).toBe(2);
    expect(r.targets('nope')).toBeUndefined();
    // The script is checked at boot, from 40_config.
    expect(scripts.files).toEqual(['/vault/40_config/llm-script.yaml']);
  });

  it('refuses to boot on a bad llm section, naming the path', () => {
    source = new FakeSource(LLM.replace('[scripted/coder]', '[x/coder]'));
    expect(() => registry()).toThrow(ConfigurationError);
    expect(() => registry()).toThrow('llm.models.coder[0]: unknown provider "x" (providers: scripted)');
  });

  it('refuses to boot when a vendor key variable is unset (naming the variable, never a value), or on a broken script', () => {
    source = new FakeSource(LLM.replace('  scripted: {', '  oa: { type: openai }\n  scripted: {'));
    expect(() => registry()).toThrow('llm.providers.oa: environment variable OPENAI_API_KEY (api_key_env) is not set');
    env = { OPENAI_API_KEY: 'sk-test' };
    expect(registry().aliases()).toEqual(['planner', 'coder']);
    source = new FakeSource(LLM);
    scripts.script = new ScriptError('/vault/40_config/llm-script.yaml', ['rules[0].match.model: is required']);
    expect(() => registry()).toThrow(
      'llm.providers.scripted: scripted provider "scripted": /vault/40_config/llm-script.yaml: rules[0].match.model: is required',
    );
  });

  it('follows edits, keeping a provider whose settings did not change (and its reply counters)', async () => {
    const r = registry();
    const before = r.targets('planner')![0]!.provider;
    const ask = async () => (await r.targets('planner')![0]!.provider.chat({ alias: 'planner', model: 'planner', messages: [], context: {} })).content;
    expect(await ask()).toBe('one');
    source.edit(LLM.replace('  coder: [scripted/coder]', '  coder: [scripted/coder]\n  fast: [scripted/planner]'));
    expect(r.aliases()).toEqual(['planner', 'coder', 'fast']);
    expect(r.targets('planner')![0]!.provider).toBe(before);
    expect(await ask()).toBe('two');
    source.edit(LLM.replace('script: llm-script.yaml', 'script: other.yaml'));
    expect(r.targets('planner')![0]!.provider).not.toBe(before);
  });

  it('keeps serving the last good configuration after a bad edit, and logs it once', () => {
    const r = registry();
    source.edit(LLM.replace('[scripted/coder]', '[x/coder]'));
    expect(r.aliases()).toEqual(['planner', 'coder']);
    expect(r.targets('coder')).toHaveLength(1);
    source.breakFile('agency.yaml: tiers: must be an array');
    r.aliases();
    r.aliases();
    const errors = logs.map((l) => JSON.parse(l) as { level: string; problem: string }).filter((l) => l.level === 'error');
    expect(errors.map((e) => e.problem)).toEqual([
      'invalid llm section: llm.models.coder[0]: unknown provider "x" (providers: scripted)',
      'agency.yaml: tiers: must be an array',
    ]);
    source.edit(LLM.replace('  coder: [scripted/coder]\n', ''));
    expect(r.aliases()).toEqual(['planner']);
  });

  it("keeps a provider's limiter across edits that do not touch it, and builds HTTP providers of each type", () => {
    env = { ANTHROPIC_API_KEY: 'sk-ant' };
    source = new FakeSource(
      LLM.replace(
        '  scripted: {',
        '  claude: { type: anthropic, max_concurrency: 2 }\n  local: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }\n  rec: { type: record, provider: local, cassette: /tmp/x.jsonl }\n  scripted: {',
      )
        .replace('  coder: [scripted/coder]', '  coder: [scripted/coder, claude/claude-x, rec/m]')
        .replace('prices:', 'prices:\n  claude/claude-x: { input_per_mtok: 3, output_per_mtok: 15 }\n  rec/m: { input_per_mtok: 0, output_per_mtok: 0 }'),
    );
    const r = registry();
    const [, claude, rec] = r.targets('coder')!;
    expect(claude!.provider).toMatchObject({ name: 'claude', type: 'anthropic' });
    expect(rec!.provider).toMatchObject({ name: 'rec', type: 'openai' });
    const limiter = claude!.limiter;
    source.edit(JSON.stringify({ ...(source.current().llm as object), routing: { retries: 1 } }));
    expect(r.targets('coder')![1]!.limiter).toBe(limiter);
    expect(r.settings().routing.retries).toBe(1);
  });

  it('refuses a key entry that neither has a hash nor names a GATEWAY_API_KEYS key', () => {
    source = new FakeSource(`${LLM}keys:\n  agents: { models: [planner] }\n  ghost: { budget_usd: 3 }\n`);
    expect(() => registry()).toThrow('llm.keys.ghost: has no sha256, and GATEWAY_API_KEYS has no key "ghost" for it to apply to');
  });
});
