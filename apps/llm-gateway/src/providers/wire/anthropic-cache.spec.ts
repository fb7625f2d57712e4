import type { LlmChatRequest, LlmMessage } from '../llm-provider.js';
import { minCacheTokens } from './anthropic-cache.js';
import { breakpointsOf as breakpoints } from '../../../test/upstreams/prompt-cache.js';
import { anthropicBody } from './anthropic.wire.js';

/** About `tokens` tokens of text (4 characters each). */
const text = (tokens: number, tag = 'x') => `${tag} `.repeat(tokens * 2).slice(0, tokens * 4);
const EPHEMERAL = { type: 'ephemeral' };
const call = (messages: LlmMessage[], over: Partial<LlmChatRequest> = {}): LlmChatRequest => ({
  alias: 'coder',
  model: 'claude-sonnet-4-5',
  messages,
  context: {},
  ...over,
});
const TOOLS = [
  { name: 'read_file', description: text(600), parameters: { type: 'object' } },
  { name: 'write_file', description: text(600), parameters: { type: 'object' } },
];

/** A tool loop at turn `turns`: system, task, then (tool call, result) pairs. */
function loop(turns: number, system = text(1200)): LlmMessage[] {
  const messages: LlmMessage[] = [
    { role: 'system', content: system },
    { role: 'user', content: text(200, 'task') },
  ];
  for (let t = 0; t < turns; t += 1) {
    messages.push({ role: 'assistant', content: null, toolCalls: [{ id: `call_${t}`, name: 'read_file', arguments: `{"path":"f${t}.js"}` }] });
    messages.push({ role: 'tool', toolCallId: `call_${t}`, content: text(400, `file${t}`) });
  }
  return messages;
}

describe('Anthropic prompt-cache breakpoints set by the gateway', () => {
  it('marks the last tool, the system prompt, the last message and the previous user turn: four at most', () => {
    const body = anthropicBody(call(loop(3), { tools: TOOLS }), false, 4096);
    expect(breakpoints(body)).toEqual(['tools[1]', 'system[0]', 'messages[4].content[0]', 'messages[6].content[0]']);
    expect(body.system).toEqual([{ type: 'text', text: text(1200), cache_control: EPHEMERAL }]);
    expect((body.messages as unknown[])[6]).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'call_2', content: text(400, 'file2'), cache_control: EPHEMERAL }],
    });
  });

  it('turns a plain-string message into a text block to mark it, and leaves unmarked ones as strings', () => {
    const body = anthropicBody(
      call([
        { role: 'system', content: text(1100) },
        { role: 'user', content: 'go' },
      ]),
      false,
      4096,
    );
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'go', cache_control: EPHEMERAL }] }]);
    expect(breakpoints(body)).toEqual(['system[0]', 'messages[0].content[0]']);
  });

  it('sets none on a prefix shorter than the model caches, so a small call is sent exactly as before', () => {
    const body = anthropicBody(
      call(
        [
          { role: 'system', content: 'You read code.' },
          { role: 'user', content: 'hi' },
        ],
        { tools: [{ name: 'read' }] },
      ),
      false,
      4096,
    );
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: 'You read code.',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 'read', input_schema: { type: 'object', properties: {} } }],
    });
    // Only the parts whose prefix reaches the minimum: a short system prompt, then a long conversation.
    const long = anthropicBody(call(loop(3, 'short')), false, 4096);
    expect(breakpoints(long)).toEqual(['messages[4].content[0]', 'messages[6].content[0]']);
  });

  it('knows the larger minimums of the Haiku models and Opus 4.5', () => {
    expect([
      minCacheTokens('claude-sonnet-4-5'),
      minCacheTokens('claude-3-5-haiku-latest'),
      minCacheTokens('claude-haiku-4-5'),
      minCacheTokens('claude-opus-4-5-20251101'),
    ]).toEqual([1024, 2048, 4096, 4096]);
    expect(breakpoints(anthropicBody(call(loop(1, text(1500)), { model: 'claude-haiku-4-5' }), false, 4096))).toEqual([]);
  });

  it('never marks an empty text block', () => {
    const body = anthropicBody(
      call([
        { role: 'system', content: text(1100) },
        { role: 'user', content: 'q' },
        { role: 'assistant', content: '' },
      ]),
      false,
      4096,
    );
    expect(breakpoints(body)).toEqual(['system[0]', 'messages[0].content[0]']);
  });

  it("sends a client's own breakpoints where it put them, and adds none", () => {
    const messages: LlmMessage[] = [
      { role: 'system', content: text(1200) },
      { role: 'system', content: 'part two', cacheControl: { type: 'ephemeral', ttl: '1h' } },
      { role: 'user', content: 'task' },
      { role: 'assistant', content: 'Reading.', toolCalls: [{ id: 't1', name: 'read_file', arguments: '{}', cacheControl: { type: 'ephemeral' } }] },
      { role: 'tool', toolCallId: 't1', content: text(400) },
    ];
    const body = anthropicBody(call(messages, { tools: TOOLS }), false, 4096);
    expect(body.system).toEqual([
      { type: 'text', text: text(1200) },
      { type: 'text', text: 'part two', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ]);
    expect(breakpoints(body)).toEqual(['system[1]', 'messages[1].content[1]']);
    expect((body.messages as unknown[])[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: text(400) }] });
  });

  it('keeps the JSON instruction after a marked system prompt', () => {
    const body = anthropicBody(
      call(
        [
          { role: 'system', content: 'rules', cacheControl: { type: 'ephemeral' } },
          { role: 'user', content: 'q' },
        ],
        { responseFormat: { type: 'json_object' } },
      ),
      false,
      4096,
    );
    expect(body.system).toEqual([
      { type: 'text', text: 'rules', cache_control: EPHEMERAL },
      { type: 'text', text: 'Answer with one JSON object and nothing else: no prose, no code fences.' },
    ]);
  });
});
