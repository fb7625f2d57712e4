import { ApiError } from '../api-error.js';
import { parseMessagesRequest } from './anthropic-request.parser.js';

function rejection(body: unknown): string {
  try {
    parseMessagesRequest(body);
  } catch (e) {
    if (e instanceof ApiError) return `${e.getStatus()} ${e.message}`;
    throw e;
  }
  throw new Error('expected a 400');
}

const base = { model: 'coder', max_tokens: 100 };

describe('parseMessagesRequest', () => {
  it('turns an Anthropic request into the neutral format', () => {
    const parsed = parseMessagesRequest({
      ...base,
      system: [{ type: 'text', text: 'You code.' }],
      messages: [
        { role: 'user', content: 'Read greet.js' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'x' },
            { type: 'text', text: 'Reading.' },
            { type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: 'greet.js' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'code' }], is_error: false },
            { type: 'text', text: 'Now fix it.' },
          ],
        },
      ],
      temperature: 0.3,
      top_k: 5,
      stop_sequences: ['END'],
      tools: [{ name: 'read', description: 'reads', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      metadata: { user_id: 'x' },
      stream: true,
    });
    expect(parsed).toEqual({
      alias: 'coder',
      stream: true,
      body: {
        messages: [
          { role: 'system', content: 'You code.' },
          { role: 'user', content: 'Read greet.js' },
          { role: 'assistant', content: 'Reading.', toolCalls: [{ id: 'toolu_1', name: 'read', arguments: '{"path":"greet.js"}' }] },
          { role: 'tool', toolCallId: 'toolu_1', content: 'code' },
          { role: 'user', content: 'Now fix it.' },
        ],
        maxTokens: 100,
        temperature: 0.3,
        stop: ['END'],
        tools: [{ name: 'read', description: 'reads', parameters: { type: 'object' } }],
        toolChoice: 'required',
        parallelToolCalls: false,
      },
    });
  });

  it('keeps a failed tool result flagged, and maps every tool_choice', () => {
    const tool = (choice: object) => parseMessagesRequest({ ...base, messages: [{ role: 'user', content: 'x' }], tool_choice: choice }).body.toolChoice;
    expect([tool({ type: 'auto' }), tool({ type: 'none' }), tool({ type: 'tool', name: 'read' })]).toEqual(['auto', 'none', { name: 'read' }]);
    const r = parseMessagesRequest({
      ...base,
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'boom', is_error: true }] }],
    });
    expect(r.body.messages).toEqual([{ role: 'tool', toolCallId: 't', content: 'boom', isError: true }]);
  });

  it("keeps a client's cache_control breakpoints on the blocks that carry them", () => {
    const eph = { type: 'ephemeral' };
    const parsed = parseMessagesRequest({
      ...base,
      tools: [{ name: 'read', input_schema: { type: 'object' }, cache_control: eph }],
      system: [
        { type: 'text', text: 'rules' },
        { type: 'text', text: 'repo', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b', cache_control: eph },
            { type: 'text', text: 'c' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'reading', cache_control: eph },
            { type: 'tool_use', id: 't', name: 'read', input: {} },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'x' }] }] },
      ],
    });
    expect(parsed.body.tools).toEqual([{ name: 'read', parameters: { type: 'object' }, cacheControl: eph }]);
    expect(parsed.body.messages).toEqual([
      { role: 'system', content: 'rules' },
      { role: 'system', content: 'repo', cacheControl: { type: 'ephemeral', ttl: '1h' } },
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b', cacheControl: eph },
      { role: 'user', content: 'c' },
      { role: 'assistant', content: 'reading', toolCalls: [{ id: 't', name: 'read', arguments: '{}' }], cacheControl: eph },
      { role: 'tool', toolCallId: 't', content: 'x' },
    ]);
    // One inside a tool result's content marks the result.
    const inner = parseMessagesRequest({
      ...base,
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'x', cache_control: eph }] }] }],
    });
    expect(inner.body.messages).toEqual([{ role: 'tool', toolCallId: 't', content: 'x', cacheControl: eph }]);
  });

  it.each([
    [{ messages: [] }, '400 model: must be a string, got nothing'],
    [
      { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'persistent' } }] }] },
      '400 messages.0.content.0.cache_control.type: must be "ephemeral", got "persistent"',
    ],
    [
      { ...base, system: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: '2h' } }], messages: [{ role: 'user', content: 'x' }] },
      '400 system.0.cache_control.ttl: must be "5m" or "1h", got "2h"',
    ],
    [
      { ...base, messages: [{ role: 'user', content: [1, 2, 3, 4, 5].map((n) => ({ type: 'text', text: String(n), cache_control: { type: 'ephemeral' } })) }] },
      '400 messages.0.content.4.cache_control: a request may set cache_control on at most 4 blocks; this is the 5th',
    ],
    [{ model: 'coder', messages: [{ role: 'user', content: 'x' }] }, '400 max_tokens: is required'],
    [{ ...base, max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }, '400 max_tokens: must be between 1 and 10000000, got 0'],
    [{ ...base, messages: [] }, '400 messages: must contain at least one message'],
    [{ ...base, messages: [{ role: 'system', content: 'x' }] }, '400 messages.0.role: must be "user" or "assistant", got "system"'],
    [
      { ...base, messages: [{ role: 'user', content: [{ type: 'document' }] }] },
      '400 messages.0.content.0.type: only "text" and "tool_result" blocks are supported in a user message, got "document"',
    ],
    [
      { ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 'b', input: 'x' }] }] },
      '400 messages.0.content.0.input: must be an object, got a string',
    ],
    [{ ...base, messages: [{ role: 'user', content: 'x' }], temperature: 1.5 }, '400 temperature: must be between 0 and 1, got 1.5'],
    [
      { ...base, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] },
      '400 tools.0.type: only custom tools (name, description, input_schema) are supported, got "web_search_20250305"',
    ],
    [
      { ...base, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'sometimes' } },
      '400 tool_choice.type: must be one of auto, any, tool, none, got "sometimes"',
    ],
  ])('refuses %j', (body, message) => {
    expect(rejection(body)).toBe(message);
  });
});
