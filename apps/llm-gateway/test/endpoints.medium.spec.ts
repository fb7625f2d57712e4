import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { expectEventually } from '@agency/testing';
import { GATEWAY_KEY, startGateway, vendorProviders, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { fakeVector, startOpenAiCompatibleUpstream, startOpenAiUpstream } from './upstreams/openai.upstream.js';
import { anthropicCacheUsage } from './upstreams/prompt-cache.js';
import type { Upstream } from './upstreams/upstream-server.js';

const TOOLS_KEY = 'tools-secret-0123456789abc';

function llm(oa: string, claude: string, local: string): string {
  return `llm:
  providers:
${vendorProviders(oa, claude, local)}
  models:
    gpt: [oa/gpt-4.1]
    claude: [claude/claude-sonnet-4-5]
    embed: [oa/text-embedding-3-small]
    local-embed: [local/nomic-embed-text]
    claude-then-embed: [claude/claude-sonnet-4-5, oa/text-embedding-3-small]
  prices:
    oa/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    claude/claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 }
    oa/text-embedding-3-small: { input_per_mtok: 0.02, output_per_mtok: 0 }
    local/nomic-embed-text: { input_per_mtok: 0, output_per_mtok: 0 }
  keys:
    tools: { models: [gpt, embed] }
`;
}

describe('embeddings, token counting and model lists', () => {
  let oa: Upstream;
  let claude: Upstream;
  let local: Upstream;
  let gw: Gateway;

  beforeAll(async () => {
    oa = await startOpenAiUpstream(() => ({ kind: 'answer', content: 'ok' }));
    claude = await startAnthropicUpstream(() => ({ kind: 'answer', content: 'ok' }));
    local = await startOpenAiCompatibleUpstream(() => ({ kind: 'answer', content: 'ok' }));
    gw = await startGateway(llm(oa.url, claude.url, local.url), { extraKeys: [`tools:${TOOLS_KEY}`] });
  });

  afterAll(async () => {
    await gw?.close();
    for (const u of [oa, claude, local]) await u?.close();
  });

  describe('POST /v1/embeddings', () => {
    it.each(['embed', 'local-embed'])('embeds for the openai SDK, which asks for base64 (%s)', async (alias) => {
      const answer = await gw
        .openai()
        .embeddings.create({ model: alias, input: ['export const greet', 'farewell'] }, { headers: { 'x-agency-fr-id': 'FR-951' } });
      expect(answer.data.map((d) => d.embedding.map((x) => Math.round(x * 1e4) / 1e4))).toEqual([fakeVector('export const greet'), fakeVector('farewell')]);
      expect(answer.model).toBe(alias === 'embed' ? 'oa/text-embedding-3-small' : 'local/nomic-embed-text');
      expect(answer.usage).toEqual({ prompt_tokens: 7, total_tokens: 7 });
    });

    it('answers floats when asked, shortens vectors, and bills the FR', async () => {
      const res = await fetch(`${gw.origin}/v1/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json', 'x-agency-fr-id': 'FR-952' },
        body: JSON.stringify({ model: 'embed', input: 'farewell', encoding_format: 'float', dimensions: 3 }),
      });
      const body = (await res.json()) as { data: Array<{ embedding: number[] }> };
      expect(body.data[0]!.embedding).toEqual(fakeVector('farewell').slice(0, 3));
      expect(oa.requests.at(-1)!.body).toEqual({ model: 'text-embedding-3-small', input: ['farewell'], encoding_format: 'float', dimensions: 3 });
      const events = await expectEventually(async () => {
        const e = await gw.usageEvents('FR-952');
        expect(e).toHaveLength(1);
        return e;
      });
      // 2 tokens at $0.02 per million.
      expect(events[0]!.payload).toMatchObject({
        alias: 'embed',
        model: 'text-embedding-3-small',
        inputTokens: 2,
        outputTokens: 0,
        costUsd: 0.00000004,
        status: 'ok',
      });
    });

    it('passes over a target without embeddings, and refuses an alias that has none', async () => {
      const answer = await gw.openai().embeddings.create({ model: 'claude-then-embed', input: 'farewell' });
      expect(answer.model).toBe('oa/text-embedding-3-small');
      const e = (await gw
        .openai()
        .embeddings.create({ model: 'claude', input: 'farewell' })
        .catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e.code).toBe('embeddings_not_supported');
      expect(e.message).toContain('provider "claude" (anthropic) has no embeddings');
      const bad = (await gw
        .openai()
        .embeddings.create({ model: 'embed', input: [] })
        .catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
      expect(bad.message).toContain("'input': must be a string, a list of strings or token arrays, got an empty list");
    });
  });

  describe('POST /v1/messages/count_tokens', () => {
    const schema = { type: 'object' as const, properties: { path: { type: 'string' } } };
    const params: Anthropic.MessageCountTokensParams = {
      model: 'claude',
      system: 'You read code.',
      messages: [{ role: 'user', content: 'What does greet.js do?' }],
      tools: [{ name: 'read_file', input_schema: schema }],
    };

    it("asks Anthropic for an Anthropic model's count", async () => {
      const raw = await gw.anthropic().messages.countTokens(params).withResponse();
      const sent = claude.requests.at(-1)!;
      expect(sent.path).toBe('/v1/messages/count_tokens');
      expect(sent.body).toEqual({
        model: 'claude-sonnet-4-5',
        system: 'You read code.',
        messages: [{ role: 'user', content: 'What does greet.js do?' }],
        tools: [{ name: 'read_file', input_schema: schema }],
      });
      expect(raw.data).toEqual({ input_tokens: anthropicCacheUsage(sent.body, new Map()).totalTokens });
      expect(raw.response.headers.get('x-agency-token-count')).toBe('counted');
    });

    it("estimates for other models, and answers errors in Anthropic's format", async () => {
      const raw = await gw
        .anthropic()
        .messages.countTokens({ ...params, model: 'gpt' })
        .withResponse();
      // 3 priming + (3 + 4) system + (3 + 6) user + the tools' JSON (~25).
      expect(raw.data.input_tokens).toBeGreaterThan(19);
      expect(raw.response.headers.get('x-agency-token-count')).toBe('estimated');
      const e = await gw
        .anthropic()
        .messages.countTokens({ ...params, model: 'nope' })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Anthropic.NotFoundError);
      expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
      const denied = await gw
        .anthropic({ apiKey: TOOLS_KEY })
        .messages.countTokens(params)
        .catch((x: unknown) => x);
      expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    });
  });

  describe('GET /v1/models', () => {
    it("lists the aliases each key may use, in each SDK's format", async () => {
      expect((await gw.openai().models.list()).data.map((m) => m.id)).toEqual(['gpt', 'claude', 'embed', 'local-embed', 'claude-then-embed']);
      expect((await gw.openai({ apiKey: TOOLS_KEY }).models.list()).data.map((m) => m.id)).toEqual(['gpt', 'embed']);
      const page = await gw.anthropic({ apiKey: TOOLS_KEY }).models.list();
      expect(page.data).toEqual([
        expect.objectContaining({ type: 'model', id: 'gpt', display_name: 'gpt' }),
        expect.objectContaining({ type: 'model', id: 'embed' }),
      ]);
      expect((await gw.anthropic().models.retrieve('claude')).id).toBe('claude');
      const e = await gw
        .anthropic({ apiKey: TOOLS_KEY })
        .models.retrieve('claude')
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Anthropic.NotFoundError);
      expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    });
  });
});
