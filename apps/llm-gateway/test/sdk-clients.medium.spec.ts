import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { expectEventually } from '@agency/testing';
import { READ_FILE_TOOL, startGateway, vendorLlm, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Behaviour, ReceivedRequest, Upstream } from './upstreams/upstream-server.js';

const TOOL_CALL = { id: 'call_up_1', name: 'read_file', arguments: '{"path":"src/greet.js"}' };
const TOOLU = { id: 'toolu_01Up', name: 'read_file', arguments: '{"path":"src/greet.js"}' };

/** Answers with a tool call first; with text once the conversation holds a tool result. */
function toolThenText(id: typeof TOOL_CALL, text: string, extra: Partial<Behaviour> = {}) {
  return (r: ReceivedRequest): Behaviour => {
    const messages = JSON.stringify(r.body.messages);
    const hasResult = messages.includes('"tool_result"') || messages.includes('"role":"tool"');
    return hasResult ? ({ kind: 'answer', content: text, ...extra } as Behaviour) : ({ kind: 'answer', toolCalls: [id], ...extra } as Behaviour);
  };
}

describe('official SDKs as clients of the gateway, against local vendor upstreams', () => {
  let openAiUp: Upstream;
  let anthropicUp: Upstream;
  let gw: Gateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    openAiUp = await startOpenAiUpstream(toolThenText(TOOL_CALL, 'The file greets the world.', { cachedTokens: 4 }));
    anthropicUp = await startAnthropicUpstream(toolThenText(TOOLU, 'It exports greet().', { cachedTokens: 10 }));
    gw = await startGateway(vendorLlm(openAiUp.url, anthropicUp.url));
    openai = gw.openai();
    anthropic = gw.anthropic();
  });

  afterAll(async () => {
    await gw?.close();
    await openAiUp?.close();
    await anthropicUp?.close();
  });

  beforeEach(() => {
    openAiUp.requests.length = 0;
    anthropicUp.requests.length = 0;
  });

  const openAiTools: OpenAI.ChatCompletionTool[] = [
    { type: 'function', function: { name: READ_FILE_TOOL.name, description: READ_FILE_TOOL.description, parameters: READ_FILE_TOOL.schema } },
  ];
  const anthropicTools: Anthropic.Tool[] = [
    { name: READ_FILE_TOOL.name, description: READ_FILE_TOOL.description, input_schema: READ_FILE_TOOL.schema as Anthropic.Tool.InputSchema },
  ];

  describe('openai SDK -> Anthropic upstream', () => {
    it('runs a tool-call round trip without streaming, translating both ways', async () => {
      const first = await openai.chat.completions.create({
        model: 'claude',
        messages: [
          { role: 'system', content: 'You read code.' },
          { role: 'user', content: 'What does greet.js do?' },
        ],
        tools: openAiTools,
        temperature: 1.5,
      });
      expect(first.model).toBe('claude/claude-sonnet-4-5');
      expect(first.choices[0]!.finish_reason).toBe('tool_calls');
      expect(first.choices[0]!.message.tool_calls).toEqual([
        { id: 'toolu_01Up', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } },
      ]);
      // Anthropic's input_tokens exclude cache reads; OpenAI's prompt_tokens include them.
      expect(first.usage).toMatchObject({ prompt_tokens: 31, completion_tokens: 9, total_tokens: 40, prompt_tokens_details: { cached_tokens: 10 } });
      expect(anthropicUp.requests[0]!.body).toEqual({
        model: 'claude-sonnet-4-5',
        max_tokens: 4096,
        system: 'You read code.',
        messages: [{ role: 'user', content: 'What does greet.js do?' }],
        temperature: 1,
        tools: [{ name: 'read_file', description: 'Reads a file of the repository', input_schema: READ_FILE_TOOL.schema }],
        // Asked as a stream and assembled: a long answer is never cut by the first-byte timeout.
        stream: true,
      });

      const second = await openai.chat.completions.create({
        model: 'claude',
        messages: [
          { role: 'system', content: 'You read code.' },
          { role: 'user', content: 'What does greet.js do?' },
          first.choices[0]!.message,
          { role: 'tool', tool_call_id: 'toolu_01Up', content: 'export const greet = () => "hi"' },
        ],
        tools: openAiTools,
        max_tokens: 300,
      });
      expect(second.choices[0]!.message.content).toBe('It exports greet().');
      expect(second.choices[0]!.finish_reason).toBe('stop');
      expect(anthropicUp.requests[1]!.body.messages).toEqual([
        { role: 'user', content: 'What does greet.js do?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01Up', name: 'read_file', input: { path: 'src/greet.js' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01Up', content: 'export const greet = () => "hi"' }] },
      ]);
      expect(anthropicUp.requests[1]!.body.max_tokens).toBe(300);
    });

    it('streams text and a tool call as OpenAI chunks the SDK assembles', async () => {
      const stream = openai.chat.completions.stream({
        model: 'claude',
        messages: [{ role: 'user', content: 'Read greet.js' }],
        tools: openAiTools,
        stream_options: { include_usage: true },
      });
      const final = await stream.finalChatCompletion();
      expect(final.choices[0]!.message.tool_calls).toEqual([
        { id: 'toolu_01Up', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } },
      ]);
      expect(final.choices[0]!.finish_reason).toBe('tool_calls');
      expect(final.usage).toMatchObject({ prompt_tokens: 31, completion_tokens: 9 });
      expect(anthropicUp.requests[0]!.body.stream).toBe(true);

      const text = await openai.chat.completions.create({
        model: 'claude',
        stream: true,
        messages: [
          { role: 'user', content: 'Read greet.js' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'toolu_01Up', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } }],
          },
          { role: 'tool', tool_call_id: 'toolu_01Up', content: 'code' },
        ],
      });
      let content = '';
      let chunks = 0;
      for await (const chunk of text) {
        chunks += 1;
        expect(chunk.id).toBe('msg_01UpstreamAnswer');
        content += chunk.choices[0]?.delta.content ?? '';
      }
      expect(content).toBe('It exports greet().');
      expect(chunks).toBeGreaterThan(3);
    });
  });

  describe('@anthropic-ai/sdk -> OpenAI upstream', () => {
    it('runs a tool-use round trip without streaming, translating both ways', async () => {
      const first = await anthropic.messages.create({
        model: 'gpt',
        max_tokens: 500,
        system: 'You read code.',
        messages: [{ role: 'user', content: 'What does greet.js do?' }],
        tools: anthropicTools,
        tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      });
      expect(first.type).toBe('message');
      expect(first.model).toBe('oa/gpt-4.1');
      expect(first.stop_reason).toBe('tool_use');
      expect(first.content).toEqual([{ type: 'tool_use', id: 'call_up_1', name: 'read_file', input: { path: 'src/greet.js' } }]);
      expect(first.usage).toMatchObject({ input_tokens: 7, cache_read_input_tokens: 4, output_tokens: 7 });
      expect(openAiUp.requests[0]!.body).toEqual({
        model: 'gpt-4.1',
        messages: [
          { role: 'system', content: 'You read code.' },
          { role: 'user', content: 'What does greet.js do?' },
        ],
        max_completion_tokens: 500,
        tools: [{ type: 'function', function: { name: 'read_file', description: 'Reads a file of the repository', parameters: READ_FILE_TOOL.schema } }],
        parallel_tool_calls: false,
        tool_choice: 'auto',
        // 500 tokens come whole within the first-byte timeout: asked as JSON (stream_upstream: auto).
      });

      const second = await anthropic.messages.create({
        model: 'gpt',
        max_tokens: 500,
        messages: [
          { role: 'user', content: 'What does greet.js do?' },
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'call_up_1', content: [{ type: 'text', text: 'export const greet' }] },
              { type: 'text', text: 'Summarise.' },
            ],
          },
        ],
        tools: anthropicTools,
      });
      expect(second.content).toEqual([{ type: 'text', text: 'The file greets the world.', citations: null }]);
      expect(second.stop_reason).toBe('end_turn');
      expect(openAiUp.requests[1]!.body.messages).toEqual([
        { role: 'user', content: 'What does greet.js do?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_up_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_up_1', content: 'export const greet' },
        { role: 'user', content: 'Summarise.' },
      ]);
    });

    it('streams Anthropic events the SDK assembles, tool input included', async () => {
      const stream = anthropic.messages.stream({
        model: 'gpt',
        max_tokens: 200,
        messages: [{ role: 'user', content: 'Read greet.js' }],
        tools: anthropicTools,
      });
      const events: string[] = [];
      stream.on('streamEvent', (e) => events.push(e.type));
      const final = await stream.finalMessage();
      expect(final.content).toEqual([{ type: 'tool_use', id: 'call_up_1', name: 'read_file', input: { path: 'src/greet.js' } }]);
      expect(final.stop_reason).toBe('tool_use');
      expect(final.usage).toMatchObject({ input_tokens: 7, cache_read_input_tokens: 4, output_tokens: 7 });
      expect(events[0]).toBe('message_start');
      expect(events.at(-1)).toBe('message_stop');
      expect(events).toContain('content_block_start');
      expect(openAiUp.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

      const text = anthropic.messages.stream({
        model: 'gpt',
        max_tokens: 200,
        messages: [
          { role: 'user', content: 'Read greet.js' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'call_up_1', name: 'read_file', input: { path: 'src/greet.js' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_up_1', content: 'code' }] },
        ],
      });
      let deltas = '';
      text.on('text', (t) => (deltas += t));
      const message = await text.finalMessage();
      expect(deltas).toBe('The file greets the world.');
      expect(message.content).toEqual([{ type: 'text', text: 'The file greets the world.' }]);
    });
  });

  describe('same format both sides', () => {
    it('openai SDK -> OpenAI upstream, plain and streamed', async () => {
      const plain = await openai.chat.completions.create({
        model: 'gpt',
        messages: [{ role: 'user', content: 'Read greet.js' }],
        tools: openAiTools,
        response_format: { type: 'json_object' },
      });
      expect(plain.id).toBe('chatcmpl-upstream0001');
      expect(plain.choices[0]!.message.tool_calls).toEqual([
        { id: 'call_up_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } },
      ]);
      expect(plain.usage).toMatchObject({ prompt_tokens: 11, prompt_tokens_details: { cached_tokens: 4 } });
      expect(openAiUp.requests[0]!.body.response_format).toEqual({ type: 'json_object' });
      const streamed = await openai.chat.completions
        .stream({ model: 'gpt', messages: [{ role: 'user', content: 'Read greet.js' }], tools: openAiTools })
        .finalChatCompletion();
      expect(streamed.choices[0]!.message.tool_calls).toEqual([
        { id: 'call_up_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } },
      ]);
    });

    it('@anthropic-ai/sdk -> Anthropic upstream, plain and streamed', async () => {
      const plain = await anthropic.messages.create({
        model: 'claude',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Read greet.js' }],
        tools: anthropicTools,
      });
      expect(plain.id).toBe('msg_01UpstreamAnswer');
      expect(plain.content).toEqual([{ type: 'tool_use', id: 'toolu_01Up', name: 'read_file', input: { path: 'src/greet.js' } }]);
      expect(plain.usage).toMatchObject({ input_tokens: 21, cache_read_input_tokens: 10, cache_creation_input_tokens: 0, output_tokens: 9 });
      const streamed = await anthropic.messages
        .stream({ model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'Read greet.js' }], tools: anthropicTools })
        .finalMessage();
      expect(streamed.content).toEqual(plain.content);
      expect(streamed.usage).toMatchObject({ input_tokens: 21, cache_read_input_tokens: 10, output_tokens: 9 });
    });
  });

  it('lists the aliases for the OpenAI SDK, and publishes usage with cached tokens', async () => {
    expect((await openai.models.list()).data.map((m) => m.id)).toEqual(['gpt', 'claude']);
    await openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-agency-fr-id': 'FR-301' } });
    const events = await expectEventually(async () => {
      const e = await gw.usageEvents('FR-301');
      expect(e).toHaveLength(1);
      return e;
    });
    // 21 uncached at $3, 10 cached at $0.3, 9 output at $15 per million.
    expect(events[0]!.payload).toMatchObject({
      provider: 'claude',
      model: 'claude-sonnet-4-5',
      inputTokens: 31,
      cachedInputTokens: 10,
      outputTokens: 9,
      costUsd: 0.000201,
      status: 'ok',
    });
  });
});
