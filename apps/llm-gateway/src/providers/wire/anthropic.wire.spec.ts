import type { LlmChatRequest, LlmStreamEvent } from '../llm-provider.js';
import { AnthropicStreamReader, anthropicBody, anthropicMessages, anthropicUsage, parseAnthropicMessage } from './anthropic.wire.js';

const call = (over: Partial<LlmChatRequest> = {}): LlmChatRequest => ({
  alias: 'coder',
  model: 'claude-x',
  messages: [{ role: 'user', content: 'hi' }],
  context: {},
  ...over,
});

describe('anthropicMessages', () => {
  it('lifts system messages, puts tool results in user turns and merges consecutive roles', () => {
    expect(
      anthropicMessages([
        { role: 'system', content: 'one' },
        { role: 'user', content: 'read both' },
        { role: 'system', content: 'two' },
        {
          role: 'assistant',
          content: 'Sure.',
          toolCalls: [
            { id: 'a', name: 'read', arguments: '{"p":"x"}' },
            { id: 'b', name: 'read', arguments: 'not json' },
          ],
        },
        { role: 'tool', toolCallId: 'a', content: 'X' },
        { role: 'tool', toolCallId: 'b', content: 'boom', isError: true },
        { role: 'user', content: 'and now?' },
        { role: 'user', content: '' },
      ]),
    ).toEqual({
      system: 'one\n\ntwo',
      messages: [
        { role: 'user', content: 'read both' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Sure.' },
            { type: 'tool_use', id: 'a', name: 'read', input: { p: 'x' } },
            { type: 'tool_use', id: 'b', name: 'read', input: { arguments: 'not json' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'a', content: 'X' },
            { type: 'tool_result', tool_use_id: 'b', content: 'boom', is_error: true },
            { type: 'text', text: 'and now?' },
          ],
        },
      ],
    });
  });
});

describe('anthropicBody', () => {
  it('defaults max_tokens, clamps temperature, maps tools, tool choice and stop', () => {
    expect(
      anthropicBody(
        call({ temperature: 1.7, topP: 0.5, stop: ['END'], tools: [{ name: 'read', description: 'reads' }], toolChoice: 'required', parallelToolCalls: false }),
        true,
        1024,
      ),
    ).toEqual({
      model: 'claude-x',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 1,
      top_p: 0.5,
      stop_sequences: ['END'],
      tools: [{ name: 'read', description: 'reads', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stream: true,
    });
    expect(anthropicBody(call({ toolChoice: { name: 'read' }, maxTokens: 5 }), false, 1024)).toMatchObject({
      max_tokens: 5,
      tool_choice: { type: 'tool', name: 'read' },
    });
    expect(anthropicBody(call({ toolChoice: 'none' }), false, 1024)).toMatchObject({ tool_choice: { type: 'none' } });
  });

  it('asks for JSON in the system prompt, with the schema when there is one', () => {
    expect(
      anthropicBody(
        call({
          messages: [
            { role: 'system', content: 'Plan.' },
            { role: 'user', content: 'go' },
          ],
          responseFormat: { type: 'json_object' },
        }),
        false,
        10,
      ).system,
    ).toBe('Plan.\n\nAnswer with one JSON object and nothing else: no prose, no code fences.');
    expect(anthropicBody(call({ responseFormat: { type: 'json_schema', jsonSchema: { name: 'p', schema: { type: 'object' } } } }), false, 10).system).toBe(
      'Answer with one JSON object and nothing else: no prose, no code fences. It must match this JSON Schema: {"type":"object"}',
    );
  });
});

describe('parseAnthropicMessage', () => {
  it('reads text and tool use, and counts cache reads and writes into the input', () => {
    const r = parseAnthropicMessage(
      Buffer.from(
        JSON.stringify({
          id: 'msg_1',
          model: 'claude-x-2025',
          content: [
            { type: 'thinking', thinking: '...' },
            { type: 'text', text: 'Reading.' },
            { type: 'tool_use', id: 'toolu_1', name: 'read', input: { p: 1 } },
          ],
          stop_reason: 'tool_use',
          usage: { input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 7 },
        }),
      ),
      call(),
    );
    expect(r).toEqual({
      id: 'msg_1',
      model: 'claude-x-2025',
      content: 'Reading.',
      toolCalls: [{ id: 'toolu_1', name: 'read', arguments: '{"p":1}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 130, cachedInputTokens: 100, cacheWriteInputTokens: 20, outputTokens: 7 },
    });
    expect(anthropicUsage({ input_tokens: 3, output_tokens: 1 })).toEqual({ inputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1 });
  });

  it('maps stop reasons and refuses a malformed body', () => {
    const parse = (stop: string) => parseAnthropicMessage(Buffer.from(JSON.stringify({ content: [], stop_reason: stop, usage: {} })), call()).finishReason;
    expect(['end_turn', 'stop_sequence', 'max_tokens', 'tool_use', 'refusal', 'model_context_window_exceeded'].map(parse)).toEqual([
      'stop',
      'stop',
      'length',
      'tool_calls',
      'content_filter',
      'length',
    ]);
    expect(() => parseAnthropicMessage(Buffer.from('{"type":"message"}'), call())).toThrow('the message has no content list or no usage');
  });
});

describe('AnthropicStreamReader', () => {
  const ev = (event: string, data: object) => ({ event, data: JSON.stringify({ type: event, ...data }) });

  it('reads the event sequence into neutral events and a whole answer', () => {
    const r = new AnthropicStreamReader('claude', call());
    const out: LlmStreamEvent[] = [];
    for (const e of [
      ev('message_start', { message: { id: 'msg_9', model: 'claude-x', usage: { input_tokens: 5, cache_read_input_tokens: 50, output_tokens: 1 } } }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('ping', {}),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Let me look.' } }),
      ev('content_block_stop', { index: 0 }),
      ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_a', name: 'read', input: {} } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"p":2}' } }),
      ev('content_block_stop', { index: 1 }),
      ev('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'toolu_b', name: 'ls', input: {} } }),
      ev('content_block_stop', { index: 2 }),
      ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } }),
      ev('message_stop', {}),
    ]) {
      out.push(...r.read(e));
    }
    expect(out).toEqual([
      { kind: 'start', id: 'msg_9', usage: { inputTokens: 55, cachedInputTokens: 50, cacheWriteInputTokens: 0, outputTokens: 1 } },
      { kind: 'text', text: 'Let me look.' },
      { kind: 'tool-call-start', index: 0, id: 'toolu_a', name: 'read' },
      { kind: 'tool-call-args', index: 0, arguments: '{"p":2}' },
      { kind: 'tool-call-start', index: 1, id: 'toolu_b', name: 'ls' },
      { kind: 'tool-call-args', index: 1, arguments: '{}' },
    ]);
    expect(r.finish()).toEqual({
      id: 'msg_9',
      model: 'claude-x',
      content: 'Let me look.',
      toolCalls: [
        { id: 'toolu_a', name: 'read', arguments: '{"p":2}' },
        { id: 'toolu_b', name: 'ls', arguments: '{}' },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 55, cachedInputTokens: 50, cacheWriteInputTokens: 0, outputTokens: 30 },
    });
  });

  it('reports an error event by its type, and a stream without message_stop as truncated', () => {
    expect(() => new AnthropicStreamReader('claude', call()).read(ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }))).toThrow(
      expect.objectContaining({
        status: 502,
        code: 'upstream_overloaded',
        message: 'provider "claude" failed in the middle of its stream (overloaded_error): Overloaded',
      }),
    );
    expect(() => new AnthropicStreamReader('claude', call()).read(ev('error', { error: { type: 'rate_limit_error', message: 'slow' } }))).toThrow(
      expect.objectContaining({ status: 429 }),
    );
    const r = new AnthropicStreamReader('claude', call());
    r.read(ev('message_start', { message: { id: 'msg_1', usage: {} } }));
    expect(() => r.finish()).toThrow('provider "claude" ended its stream early: message_stop never arrived');
  });
});
