import { ProviderError, type LlmChatRequest, type LlmStreamEvent } from '../llm-provider.js';
import { OpenAiStreamReader, openAiBody, parseOpenAiCompletion } from './openai.wire.js';
import { WireError } from './wire-format.js';

const call = (over: Partial<LlmChatRequest> = {}): LlmChatRequest => ({
  alias: 'coder',
  model: 'gpt-4.1',
  messages: [{ role: 'user', content: 'hello there' }],
  context: {},
  ...over,
});
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('openAiBody', () => {
  it('maps the neutral request to OpenAI chat completions', () => {
    const body = openAiBody(
      call({
        messages: [
          { role: 'system', content: 'rules' },
          { role: 'user', content: 'read it' },
          { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'read', arguments: '{"p":1}' }] },
          { role: 'tool', toolCallId: 'c1', content: 'text', isError: true },
        ],
        maxTokens: 50,
        temperature: 0.2,
        topP: 0.9,
        stop: ['END'],
        responseFormat: { type: 'json_schema', jsonSchema: { name: 'x', schema: {} } },
        tools: [{ name: 'read', parameters: { type: 'object' } }],
        toolChoice: { name: 'read' },
        parallelToolCalls: false,
      }),
      true,
      'max_completion_tokens',
    );
    expect(body).toEqual({
      model: 'gpt-4.1',
      messages: [
        { role: 'system', content: 'rules' },
        { role: 'user', content: 'read it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read', arguments: '{"p":1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'text' },
      ],
      max_completion_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } },
      tools: [{ type: 'function', function: { name: 'read', parameters: { type: 'object' } } }],
      parallel_tool_calls: false,
      tool_choice: { type: 'function', function: { name: 'read' } },
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(openAiBody(call({ maxTokens: 9 }), false, 'max_tokens')).toEqual({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hello there' }],
      max_tokens: 9,
    });
  });
});

describe('parseOpenAiCompletion', () => {
  it('reads content, tool calls, finish reason and usage with cached tokens', () => {
    const r = parseOpenAiCompletion(
      json({
        id: 'chatcmpl-1',
        created: 5,
        model: 'gpt-4.1-2025',
        choices: [
          {
            message: { content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read', arguments: '{}' } }] },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 60 } },
      }),
      call(),
    );
    expect(r).toEqual({
      id: 'chatcmpl-1',
      created: 5,
      model: 'gpt-4.1-2025',
      content: null,
      toolCalls: [{ id: 'c1', name: 'read', arguments: '{}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 100, cachedInputTokens: 60, outputTokens: 5 },
    });
  });

  it('estimates usage a compatible server left out', () => {
    const r = parseOpenAiCompletion(json({ choices: [{ message: { content: 'abcdefgh' }, finish_reason: 'length' }] }), call());
    expect(r).toMatchObject({
      model: 'gpt-4.1',
      content: 'abcdefgh',
      finishReason: 'length',
      usage: { inputTokens: 9, cachedInputTokens: 0, outputTokens: 2 },
    });
  });

  it('refuses what is not a chat completion', () => {
    expect(() => parseOpenAiCompletion(Buffer.from('{"choices": ['), call())).toThrow(WireError);
    expect(() => parseOpenAiCompletion(json({ object: 'list' }), call())).toThrow('the chat completion has no choices[0].message');
    expect(() => parseOpenAiCompletion(json({ choices: [{ message: { tool_calls: [{ id: 'x' }] } }] }), call())).toThrow('tool_calls[0] has no function.name');
  });
});

describe('OpenAiStreamReader', () => {
  const chunk = (delta: object, finish: string | null = null, extra: object = {}) => ({
    data: JSON.stringify({ id: 'chatcmpl-9', created: 7, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finish }], ...extra }),
  });

  it('turns chunks into neutral events and a whole answer', () => {
    const r = new OpenAiStreamReader('oa', call());
    const events: LlmStreamEvent[] = [];
    for (const e of [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hi' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'read', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"p":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({}, 'tool_calls'),
      { data: JSON.stringify({ id: 'chatcmpl-9', choices: [], usage: { prompt_tokens: 10, completion_tokens: 4 } }) },
      { data: '[DONE]' },
    ]) {
      events.push(...r.read(e));
    }
    expect(events).toEqual([
      { kind: 'start', id: 'chatcmpl-9', created: 7 },
      { kind: 'text', text: 'Hi' },
      { kind: 'tool-call-start', index: 0, id: 'call_a', name: 'read' },
      { kind: 'tool-call-args', index: 0, arguments: '{"p":' },
      { kind: 'tool-call-args', index: 0, arguments: '1}' },
    ]);
    expect(r.finish()).toEqual({
      id: 'chatcmpl-9',
      created: 7,
      model: 'gpt-4.1',
      content: 'Hi',
      toolCalls: [{ id: 'call_a', name: 'read', arguments: '{"p":1}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 4 },
    });
  });

  it('accepts a whole tool call in one delta (some compatible servers)', () => {
    const r = new OpenAiStreamReader('local', call());
    expect(r.read(chunk({ tool_calls: [{ index: 3, id: 'x', function: { name: 'ls', arguments: '{}' } }] }, 'tool_calls')).slice(1)).toEqual([
      { kind: 'tool-call-start', index: 0, id: 'x', name: 'ls' },
      { kind: 'tool-call-args', index: 0, arguments: '{}' },
    ]);
    expect(r.finish().usage.outputTokens).toBe(2);
  });

  it('calls a stream without finish_reason truncated, and a mid-stream error retryable', () => {
    const r = new OpenAiStreamReader('oa', call());
    r.read(chunk({ content: 'partial' }));
    expect(() => r.finish()).toThrow('provider "oa" ended its stream early: no finish_reason arrived');
    const e = (() => {
      try {
        new OpenAiStreamReader('oa', call()).read({ data: '{"error": {"message": "overloaded"}}' });
      } catch (err) {
        return err as ProviderError;
      }
    })();
    expect(e).toMatchObject({ status: 502, code: 'upstream_error', retryable: true, message: 'provider "oa" failed in the middle of its stream: overloaded' });
    expect(() => new OpenAiStreamReader('oa', call()).read({ data: '{not json' })).toThrow(WireError);
  });
});
