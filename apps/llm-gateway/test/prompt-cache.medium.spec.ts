import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { KvStore } from '@agency/messaging';
import { expectEventually } from '@agency/testing';
import { BUDGET_BUCKET, type SpendRecord } from '../src/budget/spend.store.js';
import { READ_FILE_TOOL, useVendorGateway } from './gateway-harness.js';
import { breakpointsOf as breakpoints } from './upstreams/prompt-cache.js';
import type { Behaviour, ReceivedRequest } from './upstreams/upstream-server.js';

/**
 * A coder's system prompt: long enough (about 2000 tokens) for the vendors to cache. Each test has
 * its own (`tag`), so none reads what another left in the vendor's cache.
 */
const system = (tag: string) => `You are the coder (${tag}). ${'Follow the repository conventions, keep changes small, run the tests. '.repeat(110)}`;
const FILE = (n: number) => `// file ${n}\n${'export const value = 42; // a line of the repository\n'.repeat(60)}`;

/** Calls read_file until the conversation holds `results` tool results, then answers in text. */
function toolLoop(results: number, idPrefix: string) {
  return (r: ReceivedRequest): Behaviour => {
    const text = JSON.stringify(r.body.messages);
    const seen = (text.match(/"tool_result"|"role":"tool"/g) ?? []).length;
    return seen >= results
      ? { kind: 'answer', content: 'Done.' }
      : { kind: 'answer', toolCalls: [{ id: `${idPrefix}${seen}`, name: 'read_file', arguments: `{"path":"f${seen}.js"}` }] };
  };
}

describe('prompt caching through the gateway, against vendors that cache as documented', () => {
  const setup = useVendorGateway(toolLoop(2, 'call_'), toolLoop(2, 'toolu_'), { promptCache: true });
  const openAiTools: OpenAI.ChatCompletionTool[] = [
    { type: 'function', function: { name: READ_FILE_TOOL.name, description: READ_FILE_TOOL.description, parameters: READ_FILE_TOOL.schema } },
  ];
  const anthropicTools: Anthropic.Tool[] = [
    { name: READ_FILE_TOOL.name, description: READ_FILE_TOOL.description, input_schema: READ_FILE_TOOL.schema as Anthropic.Tool.InputSchema },
  ];

  /** Runs an OpenAI-SDK tool loop to its end; gives each answer's usage. */
  async function openAiLoop(model: string, stream: boolean, headers: Record<string, string> = {}): Promise<OpenAI.CompletionUsage[]> {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: system(`${model} stream ${stream} ${JSON.stringify(headers)}`) },
      { role: 'user', content: 'Add a farewell function.' },
    ];
    const usages: OpenAI.CompletionUsage[] = [];
    for (let turn = 0; turn < 5; turn += 1) {
      const answer = stream
        ? await setup.openai.chat.completions
            .stream({ model, messages, tools: openAiTools, stream_options: { include_usage: true } }, { headers })
            .finalChatCompletion()
        : await setup.openai.chat.completions.create({ model, messages, tools: openAiTools }, { headers });
      usages.push(answer.usage!);
      const message = answer.choices[0]!.message;
      if (!message.tool_calls?.length) return usages;
      messages.push({ role: 'assistant', content: message.content, tool_calls: message.tool_calls });
      for (const c of message.tool_calls) messages.push({ role: 'tool', tool_call_id: c.id, content: FILE(usages.length) });
    }
    throw new Error('the loop did not end');
  }

  it.each([false, true])(
    'openai SDK -> Anthropic: the gateway sets breakpoints, each turn reads the previous one from the cache (stream %s)',
    async (stream) => {
      const usages = await openAiLoop('claude', stream);
      expect(usages).toHaveLength(3);
      expect(setup.anthropicUp.requests.map((r) => breakpoints(r.body))).toEqual([
        ['system[0]', 'messages[0].content[0]'],
        ['system[0]', 'messages[0].content[0]', 'messages[2].content[0]'],
        ['system[0]', 'messages[2].content[0]', 'messages[4].content[0]'],
      ]);
      // The whole prompt of a turn is read back by the next one.
      expect(usages[0]!.prompt_tokens_details?.cached_tokens).toBe(0);
      expect(usages[1]!.prompt_tokens_details?.cached_tokens).toBe(usages[0]!.prompt_tokens);
      expect(usages[2]!.prompt_tokens_details?.cached_tokens).toBe(usages[1]!.prompt_tokens);
    },
  );

  it('@anthropic-ai/sdk -> Anthropic without breakpoints of its own: the gateway sets them; cache fields in both forms', async () => {
    const SYSTEM = system('anthropic sdk');
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Add a farewell function.' }];
    const usages: Anthropic.Usage[] = [];
    for (let turn = 0; turn < 3; turn += 1) {
      const answer =
        turn === 1
          ? await setup.anthropic.messages.stream({ model: 'claude', max_tokens: 500, system: SYSTEM, messages, tools: anthropicTools }).finalMessage()
          : await setup.anthropic.messages.create({ model: 'claude', max_tokens: 500, system: SYSTEM, messages, tools: anthropicTools });
      usages.push(answer.usage);
      const calls = answer.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      if (!calls.length) break;
      messages.push(
        { role: 'assistant', content: answer.content },
        { role: 'user', content: calls.map((c) => ({ type: 'tool_result' as const, tool_use_id: c.id, content: FILE(turn) })) },
      );
    }
    expect(usages).toHaveLength(3);
    const total = (u: Anthropic.Usage) => u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
    expect(usages[0]).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: total(usages[0]!) });
    expect(usages[1]).toMatchObject({ cache_read_input_tokens: total(usages[0]!) });
    expect(usages[1]!.cache_creation_input_tokens).toBe(total(usages[1]!) - total(usages[0]!));
    expect(usages[2]).toMatchObject({ cache_read_input_tokens: total(usages[1]!) });
  });

  it('@anthropic-ai/sdk with breakpoints of its own: they reach Anthropic as they were, and the gateway adds none', async () => {
    const SYSTEM = system('own breakpoints');
    const answer = await setup.anthropic.messages.create({
      model: 'claude',
      max_tokens: 500,
      system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Add a farewell function.' },
            { type: 'text', text: 'Keep it small.' },
          ],
        },
      ],
      tools: anthropicTools,
    });
    expect(answer.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    const body = setup.anthropicUp.requests[0]!.body;
    expect(body.system).toEqual([{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } }]);
    expect(breakpoints(body)).toEqual(['system[0]']);
    expect(body.messages).toEqual([{ role: 'user', content: 'Add a farewell function.\n\nKeep it small.' }]);
  });

  it("@anthropic-ai/sdk -> OpenAI: OpenAI's cached tokens come back as cache reads", async () => {
    const SYSTEM = system('openai upstream');
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Add a farewell function.' }];
    const first = await setup.anthropic.messages.create({ model: 'gpt', max_tokens: 500, system: SYSTEM, messages, tools: anthropicTools });
    messages.push(
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: (first.content[0] as Anthropic.ToolUseBlock).id, content: FILE(0) }] },
    );
    const second = await setup.anthropic.messages.stream({ model: 'gpt', max_tokens: 500, system: SYSTEM, messages, tools: anthropicTools }).finalMessage();
    expect(first.usage).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    // OpenAI counts cached prefixes in steps of 128 tokens, from 1024 on.
    expect(second.usage.cache_read_input_tokens).toBeGreaterThanOrEqual(1024);
    expect(second.usage.cache_read_input_tokens! % 128).toBe(0);
    expect(second.usage.cache_read_input_tokens).toBeLessThanOrEqual(first.usage.input_tokens);
    expect(second.usage.input_tokens + second.usage.cache_read_input_tokens!).toBeGreaterThan(first.usage.input_tokens);
  });

  it('prices cache reads and writes at their own prices in usage events, FR spend and metrics', async () => {
    const series = 'llm_gateway_tokens_total{alias="claude",model="claude/claude-sonnet-4-5",kind="cache_write",service="llm-gateway"}';
    const cacheWrites = async () =>
      Number(
        (await (await fetch(`${setup.gw.origin}/metrics`)).text())
          .split('\n')
          .find((l) => l.startsWith(series))
          ?.slice(series.length) ?? 0,
      );
    const before = await cacheWrites();
    const usages = await openAiLoop('claude', false, { 'x-agency-fr-id': 'FR-611' });
    const events = await expectEventually(async () => {
      const e = await setup.gw.usageEvents('FR-611');
      expect(e).toHaveLength(3);
      return e.map((x) => x.payload);
    });
    // llm.prices: claude at $3 input with a cached price of $0.3; no cache-write price, so Anthropic's 1.25x ($3.75).
    const expected = (p: (typeof events)[number]) =>
      Math.round(
        (((p.inputTokens - p.cachedInputTokens - (p.cacheWriteTokens ?? 0)) * 3 +
          p.cachedInputTokens * 0.3 +
          (p.cacheWriteTokens ?? 0) * 3.75 +
          p.outputTokens * 15) /
          1e6) *
          1e9,
      ) / 1e9;
    expect(events.map((p) => p.inputTokens)).toEqual(usages.map((u) => u.prompt_tokens));
    expect(events[0]).toMatchObject({ cachedInputTokens: 0, cacheWriteTokens: usages[0]!.prompt_tokens });
    expect(events[1]).toMatchObject({ cachedInputTokens: usages[0]!.prompt_tokens, cacheWriteTokens: usages[1]!.prompt_tokens - usages[0]!.prompt_tokens });
    for (const p of events) expect(p.costUsd).toBe(expected(p));
    // Cheaper than the same prompts at the plain input price, although the first turn pays 1.25x for its writes.
    const plain = events.reduce((sum, p) => sum + p.inputTokens * 3 + p.outputTokens * 15, 0) / 1e6;
    const total = events.reduce((sum, p) => sum + p.costUsd, 0);
    expect(total).toBeLessThan(plain * 0.7);
    // The FR's spend in the budget bucket is the same sum.
    const kv = await KvStore.open<SpendRecord>(setup.gw.bus, BUDGET_BUCKET);
    await expectEventually(async () => expect((await kv.get('fr.FR-611'))?.value.spentUsd).toBeCloseTo(total, 9));
    expect((await cacheWrites()) - before).toBe(events.reduce((sum, p) => sum + (p.cacheWriteTokens ?? 0), 0));
  });
});
