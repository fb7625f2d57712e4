import { createHash } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { isBudgetExhausted, LlmClient } from '@agency/llm-client';
import { KvStore } from '@agency/messaging';
import { expectEventually } from '@agency/testing';
import { BUDGET_BUCKET, type SpendRecord } from '../src/budget/spend.store.js';
import { GATEWAY_KEY, startGateway, vendorLlm, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Upstream } from './upstreams/upstream-server.js';

const TOOLS_SECRET = 'tools-secret-abcdefghijklmnop';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
// Every answer of the OpenAI upstream costs 11 input tokens at $2 + 7 output tokens at $8 per million.
const CALL_USD = 0.000078;

const ACCESS = `  keys:
    tools: { sha256: ${sha(TOOLS_SECRET)}, models: [gpt], budget_usd: 0.0001 }
  budgets: { per_fr_usd: 0.0001, max_per_fr_usd: 1 }
`;

type ApiErr = InstanceType<typeof OpenAI.APIError>;
type AnthropicErr = InstanceType<typeof Anthropic.APIError>;

describe('keys, budgets and request errors, in each client format', () => {
  let openAiUp: Upstream;
  let anthropicUp: Upstream;
  let gw: Gateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    openAiUp = await startOpenAiUpstream(() => ({ kind: 'answer', content: 'ok' }));
    anthropicUp = await startAnthropicUpstream(() => ({ kind: 'answer', content: 'ok' }));
    gw = await startGateway(vendorLlm(openAiUp.url, anthropicUp.url, ACCESS));
    openai = gw.openai();
    anthropic = gw.anthropic();
  });

  afterAll(async () => {
    await gw?.close();
    await openAiUp?.close();
    await anthropicUp?.close();
  });

  const failure = async <E>(p: Promise<unknown>) =>
    p.then(
      () => expect.fail('expected the call to fail'),
      (e: unknown) => e as E,
    );
  const ask = (client: OpenAI, model: string, headers: Record<string, string> = {}) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }, { headers });
  const askAnthropic = (model: string, headers: Record<string, string> = {}) =>
    anthropic.messages.create({ model, max_tokens: 20, messages: [{ role: 'user', content: 'x' }] }, { headers });

  it('lets a key declared by its hash use only its models, and lists only those', async () => {
    const tools = gw.openai({ apiKey: TOOLS_SECRET });
    expect((await tools.models.list()).data.map((m) => m.id)).toEqual(['gpt']);
    const e = await failure<ApiErr>(ask(tools, 'claude'));
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e.code).toBe('model_not_allowed');
    expect(e.message).toContain('The API key "tools" may not use the model `claude`; it may use `gpt`.');
    const a = await failure<AnthropicErr>(
      new Anthropic({ baseURL: gw.origin, apiKey: TOOLS_SECRET, maxRetries: 0 }).messages.create({
        model: 'claude',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
    );
    expect(a).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(a.error).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
  });

  it('refuses a key over its budget with 429 naming the key, and tells SDKs not to retry', async () => {
    const tools = gw.openai({ apiKey: TOOLS_SECRET });
    await ask(tools, 'gpt');
    await ask(tools, 'gpt');
    const e = await failure<ApiErr>(ask(tools, 'gpt'));
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.code).toBe('budget_exceeded');
    expect(e.type).toBe('insufficient_quota');
    expect(e.message).toContain(`the budget of API key "tools" is used up ($${2 * CALL_USD} spent of $0.0001, from llm.keys.tools.budget_usd)`);
    expect(e.headers?.get('x-should-retry')).toBe('false');
    // The internal key has no budget.
    await expect(ask(openai, 'gpt')).resolves.toBeDefined();
  });

  it('enforces the per-FR budget in both formats, keeps the spend in KV, and a replica sees it', async () => {
    await ask(openai, 'gpt', { 'x-agency-fr-id': 'FR-401' });
    await askAnthropic('gpt', { 'x-agency-fr-id': 'FR-401' });
    const e = await failure<ApiErr>(ask(openai, 'gpt', { 'x-agency-fr-id': 'FR-401' }));
    expect(e.status).toBe(429);
    expect(e.message).toContain('Budget exceeded: the budget of FR-401 is used up');
    expect(e.message).toContain('from llm.budgets.per_fr_usd');
    const a = await failure<AnthropicErr>(askAnthropic('claude', { 'x-agency-fr-id': 'FR-401' }));
    expect(a).toBeInstanceOf(Anthropic.RateLimitError);
    expect(a.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('the budget of FR-401 is used up') } });

    const kv = await KvStore.open<SpendRecord>(gw.bus, BUDGET_BUCKET);
    await expectEventually(async () => expect((await kv.get('fr.FR-401'))?.value).toMatchObject({ spentUsd: 2 * CALL_USD, calls: 2 }));
    // Another gateway on the same bus (a replica, or this one after a restart) starts from the stored spend.
    const replica = await startGateway(vendorLlm(openAiUp.url, anthropicUp.url, ACCESS), { nats: gw.nats });
    try {
      const r = await failure<ApiErr>(ask(replica.openai(), 'gpt', { 'x-agency-fr-id': 'FR-401' }));
      expect(r.code).toBe('budget_exceeded');
      await expect(ask(replica.openai(), 'gpt', { 'x-agency-fr-id': 'FR-402' })).resolves.toBeDefined();
    } finally {
      await replica.close();
    }
  });

  it('takes the FR budget from the orchestrator header, within max_per_fr_usd', async () => {
    const h = { 'x-agency-fr-id': 'FR-403', 'x-agency-fr-budget-usd': '0.00005' };
    await ask(openai, 'gpt', h);
    const e = await failure<ApiErr>(ask(openai, 'gpt', h));
    expect(e.message).toContain(`$${CALL_USD} spent of $0.00005, from the x-agency-fr-budget-usd header`);
    const big = await failure<ApiErr>(ask(openai, 'gpt', { 'x-agency-fr-id': 'FR-404', 'x-agency-fr-budget-usd': '5' }));
    expect(big).toBeInstanceOf(OpenAI.BadRequestError);
    expect(big.message).toContain('header x-agency-fr-budget-usd asks for $5, more than llm.budgets.max_per_fr_usd ($1)');
  });

  it("stops the agents' LlmClient at the FR budget it sends, with an error it recognises", async () => {
    const client = new LlmClient({ baseUrl: `${gw.origin}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
    const ctx = { frId: 'FR-405', sagaId: 's-405', step: 'code-r1', frBudgetUsd: 0.00005 };
    expect((await client.chat({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }, ctx)).content).toBe('ok');
    const e = await failure<ApiErr>(client.chat({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }, ctx));
    expect(isBudgetExhausted(e)).toBe(true);
    expect(e.message).toContain('the budget of FR-405 is used up');
    expect(e.message).toContain('from the x-agency-fr-budget-usd header');
    expect(isBudgetExhausted(await failure(ask(openai, 'gpt-17')))).toBe(false);
  });

  it('answers an unknown model with 404 in each format', async () => {
    const e = await failure<ApiErr>(ask(openai, 'gpt-17'));
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.code).toBe('model_not_found');
    const a = await failure<AnthropicErr>(askAnthropic('claude-opus-9'));
    expect(a).toBeInstanceOf(Anthropic.NotFoundError);
    expect(a.error).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'The model `claude-opus-9` does not exist; the gateway serves the aliases `gpt`, `claude`.' },
    });
  });

  it('answers a missing or wrong key with 401 in each format', async () => {
    const wrong = await failure<AnthropicErr>(
      new Anthropic({ baseURL: gw.origin, apiKey: 'sk-ant-wrong-0000000000', maxRetries: 0 }).messages.create({
        model: 'gpt',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
    );
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(wrong.error).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'Incorrect API key provided.' } });
    const missing = await fetch(`${gw.origin}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.stringContaining('You did not provide an API key') },
    });
    const openAiWrong = await failure<ApiErr>(ask(gw.openai({ apiKey: 'sk-wrong-000000000000' }), 'gpt'));
    expect(openAiWrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(openAiWrong.code).toBe('invalid_api_key');
  });

  it('refuses an oversized or invalid body in each format', async () => {
    const post = (path: string, body: string) =>
      fetch(`${gw.origin}${path}`, { method: 'POST', headers: { 'x-api-key': GATEWAY_KEY, 'content-type': 'application/json' }, body });
    const huge = JSON.stringify({ model: 'gpt', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(9 * 1024 * 1024) }] });
    const a = await post('/v1/messages', huge);
    expect(a.status).toBe(413);
    expect(await a.json()).toEqual({ type: 'error', error: { type: 'request_too_large', message: expect.any(String) } });
    const o = await post('/v1/chat/completions', huge);
    expect(o.status).toBe(413);
    expect(await o.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large' } });

    const noMax = await failure<AnthropicErr>(
      anthropic.messages.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming),
    );
    expect(noMax).toBeInstanceOf(Anthropic.BadRequestError);
    expect(noMax.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: is required' } });
    const image = await failure<AnthropicErr>(
      anthropic.messages.create({
        model: 'gpt',
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] }],
      }),
    );
    expect((image.error as { error: { message: string } }).error.message).toBe(
      'messages.0.content.0.type: only "text" and "tool_result" blocks are supported in a user message, got "image"',
    );
    const notJson = await post('/v1/messages', '{"model": ');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});
