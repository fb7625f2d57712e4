import { parse } from 'yaml';
import { LlmSettingsError, parseLlmSettings } from './llm-settings.js';

const DIR = '/vault/40_config';

function problems(yamlText: string): string[] {
  try {
    parseLlmSettings(parse(yamlText), DIR);
  } catch (e) {
    if (e instanceof LlmSettingsError) return e.problems;
    throw e;
  }
  throw new Error('expected the llm section to be refused');
}

const VALID = `
providers:
  scripted: { type: scripted, script: llm-script.yaml }
  oa: { type: openai }
  local: { type: openai-compatible, base_url: "http://127.0.0.1:11434/v1" }
models:
  planner: [scripted/planner, oa/gpt-4.1]
  coder: scripted/coder
prices:
  scripted/planner: { input_per_mtok: 3, output_per_mtok: 15 }
  scripted/coder: { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3 }
  oa/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8, cache_write_per_mtok: 2.5 }
`;

describe('parseLlmSettings', () => {
  it('reads providers, ordered alias lists and prices', () => {
    const s = parseLlmSettings(parse(VALID), DIR);
    expect(s.providers.get('scripted')).toEqual({ name: 'scripted', type: 'scripted', script: '/vault/40_config/llm-script.yaml' });
    expect(s.providers.get('oa')).toEqual({ name: 'oa', type: 'openai', apiKeyEnv: 'OPENAI_API_KEY' });
    expect(s.providers.get('local')).toEqual({ name: 'local', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1' });
    expect(s.models.get('planner')).toEqual([
      { ref: 'scripted/planner', provider: 'scripted', model: 'planner' },
      { ref: 'oa/gpt-4.1', provider: 'oa', model: 'gpt-4.1' },
    ]);
    expect(s.models.get('coder')).toEqual([{ ref: 'scripted/coder', provider: 'scripted', model: 'coder' }]);
    expect(s.prices.get('scripted/coder')).toEqual({ inputPerMtok: 3, outputPerMtok: 15, cachedInputPerMtok: 0.3 });
    expect(s.prices.get('oa/gpt-4.1')).toEqual({ inputPerMtok: 2, outputPerMtok: 8, cacheWritePerMtok: 2.5 });
    expect(problems(VALID.replace('cache_write_per_mtok: 2.5', 'cache_write_per_mtok: -1'))).toEqual([
      'llm.prices["oa/gpt-4.1"].cache_write_per_mtok: must be a number >= 0 (USD per million tokens), got -1',
    ]);
  });

  it('keeps an absolute script path as it is', () => {
    const s = parseLlmSettings(parse(VALID.replace('script: llm-script.yaml', 'script: /etc/agency/script.yaml')), DIR);
    expect(s.providers.get('scripted')).toMatchObject({ script: '/etc/agency/script.yaml' });
  });

  it('names an alias that points at an unknown provider', () => {
    expect(problems(VALID.replace('coder: scripted/coder', 'coder: x/coder'))).toEqual([
      'llm.models.coder: unknown provider "x" (providers: scripted, oa, local)',
    ]);
    expect(problems(VALID.replace('[scripted/planner, oa/gpt-4.1]', '[scripted/planner, nope/gpt]'))).toEqual([
      'llm.models.planner[1]: unknown provider "nope" (providers: scripted, oa, local)',
    ]);
  });

  it('names an unknown provider type and a missing required field', () => {
    expect(problems(VALID.replace('{ type: openai }', '{ type: x }'))).toContain(
      'llm.providers.oa.type: must be one of scripted, openai, anthropic, openai-compatible, record, replay, got "x"',
    );
    expect(problems(VALID.replace('{ type: scripted, script: llm-script.yaml }', '{ type: scripted }'))).toContain(
      'llm.providers.scripted.script: is required (the reply script, relative to 40_config)',
    );
    expect(problems(VALID.replace(', base_url: "http://127.0.0.1:11434/v1"', ''))).toContain(
      'llm.providers.local.base_url: is required for an openai-compatible provider',
    );
  });

  it('does not report every use of a provider whose own settings are bad', () => {
    expect(problems(VALID.replace('{ type: openai }', '{ type: openai, base_url: "ftp://x" }'))).toEqual([
      'llm.providers.oa.base_url: must be an http(s) URL, got "ftp://x"',
    ]);
  });

  it('flags unknown keys, which are usually typos', () => {
    expect(problems(VALID.replace('{ type: scripted, script: llm-script.yaml }', '{ type: scripted, script: a.yaml, scrpt: b.yaml }'))).toEqual([
      'llm.providers.scripted: unknown key "scrpt" (allowed: type, script)',
    ]);
    expect(problems(`${VALID}fallbacks: {}\n`)).toEqual(['llm: unknown key "fallbacks" (allowed: providers, models, prices, routing, keys, budgets)']);
  });

  it('requires a price for every model an alias can reach', () => {
    expect(problems(VALID.replace('  oa/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8, cache_write_per_mtok: 2.5 }\n', ''))).toEqual([
      'llm.models.planner[1]: "oa/gpt-4.1" has no entry in llm.prices',
    ]);
  });

  it('checks prices', () => {
    expect(problems(VALID.replace('{ input_per_mtok: 2, output_per_mtok: 8, cache_write_per_mtok: 2.5 }', '{ input_per_mtok: -1 }'))).toEqual([
      'llm.prices["oa/gpt-4.1"].input_per_mtok: must be a number >= 0 (USD per million tokens), got -1',
      'llm.prices["oa/gpt-4.1"].output_per_mtok: is required (USD per million tokens)',
    ]);
    expect(problems(VALID.replace('oa/gpt-4.1: {', 'gpt-4.1: {'))).toContain('llm.prices["gpt-4.1"]: must look like "provider/model", got "gpt-4.1"');
  });

  it('refuses a missing or empty section with the path', () => {
    expect(problems('')).toEqual(['llm: is required (providers, models and prices)']);
    expect(problems('providers: {}\nmodels: {}\nprices: {}')).toEqual([
      'llm.providers: must declare at least one provider',
      'llm.models: must declare at least one alias',
    ]);
    expect(problems('models: {}\nprices: {}')).toContain('llm.providers: is required');
    expect(problems(VALID.replace('coder: scripted/coder', 'coder: []'))).toEqual([
      'llm.models.coder: must be a non-empty list of "provider/model", got an array',
    ]);
  });

  it('refuses the same target twice in one alias', () => {
    expect(problems(VALID.replace('[scripted/planner, oa/gpt-4.1]', '[scripted/planner, scripted/planner]'))).toEqual([
      'llm.models.planner[1]: "scripted/planner" is listed twice',
    ]);
  });

  it('reads routing, with defaults for what is not set', () => {
    expect(parseLlmSettings(parse(VALID), DIR).routing).toEqual({
      retries: 2,
      backoffInitialMs: 250,
      backoffMaxMs: 8000,
      maxRetryWaitMs: 30000,
      breakerCooldownMs: 30000,
      breakerFailures: 3,
      deadlineMs: 300000,
    });
    expect(parseLlmSettings(parse(`${VALID}routing: { breaker_cooldown_ms: 5000, breaker_failures: 1, deadline_ms: 90000 }\n`), DIR).routing).toMatchObject({
      breakerCooldownMs: 5000,
      breakerFailures: 1,
      deadlineMs: 90000,
    });
    expect(parseLlmSettings(parse(`${VALID}routing: { retries: 0, max_retry_wait_ms: 5000 }\n`), DIR).routing).toMatchObject({
      retries: 0,
      maxRetryWaitMs: 5000,
    });
    expect(problems(`${VALID}routing: { retries: -1, backoff_initial_ms: 900, backoff_max_ms: 100, jitter: 1 }\n`)).toEqual([
      'llm.routing: unknown key "jitter" (allowed: retries, backoff_initial_ms, backoff_max_ms, max_retry_wait_ms, breaker_cooldown_ms, breaker_failures, deadline_ms)',
      'llm.routing.retries: must be a whole number from 0 to 10, got -1',
      'llm.routing.backoff_max_ms: must be at least backoff_initial_ms (900)',
    ]);
  });

  it('reads provider limits and timeouts, and checks them', () => {
    const s = parseLlmSettings(
      parse(
        VALID.replace(
          '{ type: openai }',
          '{ type: openai, timeout_ms: 5000, max_concurrency: 4, requests_per_minute: 60, tokens_per_minute: 90000, headers: { X-Title: agency } }',
        ),
      ),
      DIR,
    );
    expect(s.providers.get('oa')).toEqual({
      name: 'oa',
      type: 'openai',
      apiKeyEnv: 'OPENAI_API_KEY',
      timeoutMs: 5000,
      maxConcurrency: 4,
      requestsPerMinute: 60,
      tokensPerMinute: 90000,
      headers: { 'X-Title': 'agency' },
    });
    expect(problems(VALID.replace('{ type: openai }', '{ type: openai, timeout_ms: 0, max_concurrency: 1.5, headers: { Authorization: x } }'))).toEqual([
      'llm.providers.oa.timeout_ms: must be a whole number of milliseconds from 1 to 3600000, got 0',
      'llm.providers.oa.max_concurrency: must be a whole number of calls from 1 to 100000, got 1.5',
      'llm.providers.oa.headers.Authorization: is set by the gateway itself and cannot be configured',
    ]);
    expect(problems(VALID.replace('{ type: openai }', '{ type: openai, stream_upstream: always }'))).toEqual([
      'llm.providers.oa.stream_upstream: must be true, false or auto, got "always"',
    ]);
    expect(parseLlmSettings(parse(VALID.replace('{ type: openai }', '{ type: openai, stream_upstream: auto }')), DIR).providers.get('oa')).toMatchObject({
      streamUpstream: 'auto',
    });
  });

  it('reads record and replay providers; a record provider wraps an HTTP provider', () => {
    const yaml = VALID.replace(
      '  local:',
      '  rec: { type: record, provider: oa, cassette: cassettes/run.jsonl }\n  rep: { type: replay, cassette: /tmp/run.jsonl }\n  local:',
    );
    const s = parseLlmSettings(parse(yaml), DIR);
    expect(s.providers.get('rec')).toEqual({ name: 'rec', type: 'record', provider: 'oa', cassette: '/vault/40_config/cassettes/run.jsonl' });
    expect(s.providers.get('rep')).toEqual({ name: 'rep', type: 'replay', cassette: '/tmp/run.jsonl', match: 'exact' });
    const byConversation = parseLlmSettings(parse(yaml.replace('cassette: /tmp/run.jsonl }', 'cassette: /tmp/run.jsonl, match: conversation }')), DIR);
    expect(byConversation.providers.get('rep')).toMatchObject({ match: 'conversation' });
    expect(problems(yaml.replace('cassette: /tmp/run.jsonl }', 'cassette: /tmp/run.jsonl, match: fuzzy }'))).toEqual([
      'llm.providers.rep.match: must be one of exact, conversation, got "fuzzy"',
    ]);
    expect(problems(yaml.replace('provider: oa,', 'provider: scripted,'))).toEqual([
      'llm.providers.rec.provider: "scripted" is a scripted provider; only openai, anthropic, openai-compatible providers can be recorded',
    ]);
    expect(problems(yaml.replace('provider: oa,', 'provider: nope,'))).toEqual([
      'llm.providers.rec.provider: unknown provider "nope" (providers: scripted, oa, rec, rep, local)',
    ]);
    expect(problems(yaml.replace('{ type: replay, cassette: /tmp/run.jsonl }', '{ type: replay }'))).toEqual([
      'llm.providers.rep.cassette: is required (the cassette a record provider wrote, relative to 40_config)',
    ]);
  });

  it('reads keys (hashes only) and FR budgets', () => {
    const hash = 'a'.repeat(64);
    const s = parseLlmSettings(
      parse(
        `${VALID}keys:\n  agents: { models: [planner] }\n  tools: { sha256: ${hash}, budget_usd: 20, budget_period: month }\nbudgets: { per_fr_usd: 5, max_per_fr_usd: 50 }\n`,
      ),
      DIR,
    );
    expect(s.keys.get('agents')).toEqual({ id: 'agents', models: ['planner'], budgetPeriod: 'total' });
    expect(s.keys.get('tools')).toEqual({ id: 'tools', sha256: hash, budgetUsd: 20, budgetPeriod: 'month' });
    expect(s.budgets).toEqual({ perFrUsd: 5, maxPerFrUsd: 50 });
    expect(
      problems(
        `${VALID}keys:\n  tools: { sha256: ABC, models: [planner, gpt], budget_usd: -1, budget_period: week, secret: x }\nbudgets: { per_fr_usd: "5" }\n`,
      ),
    ).toEqual([
      'llm.keys.tools: unknown key "secret" (allowed: sha256, models, budget_usd, budget_period)',
      'llm.keys.tools.sha256: must be the 64 lower-case hex digits of sha256(secret), e.g. from `printf %s "$SECRET" | sha256sum`',
      'llm.keys.tools.models[1]: unknown alias "gpt" (aliases: planner, coder)',
      'llm.keys.tools.budget_usd: must be a number of USD >= 0, got -1',
      'llm.keys.tools.budget_period: must be one of day, month, total, got "week"',
      'llm.budgets.per_fr_usd: must be a number of USD >= 0, got a string',
    ]);
  });
});
