import { describeKey, keyOf, shapeDifference, shapeOf, stepParts } from './conversation.js';

const openAiBody = (toolResult: string, path = 'src/a.js') => ({
  model: 'gpt-4.1',
  messages: [
    { role: 'system', content: 'You code. Today is 2026-11-24.' },
    { role: 'user', content: 'Add farewell.' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: `{"path": "${path}"}` } }] },
    { role: 'tool', tool_call_id: 'call_1', content: toolResult },
  ],
});

const anthropicBody = {
  model: 'claude-x',
  system: 'You code.',
  messages: [
    { role: 'user', content: 'Add farewell.' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Reading.' },
        { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'src/a.js' } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'code' }] },
  ],
};

describe('conversation shapes for replay', () => {
  it('reads a step header into family, round and attempt', () => {
    expect([stepParts('plan'), stepParts('code-r2'), stepParts('review-r1-a3'), stepParts(undefined)]).toEqual([
      { family: 'plan' },
      { family: 'code', round: 2 },
      { family: 'review', round: 1, attempt: 3 },
      {},
    ]);
  });

  it('keys a call by FR, role (step family, else alias), round and turn', () => {
    const shape = shapeOf(openAiBody('x'));
    expect(shape).toEqual({ turn: 1, messages: ['system', 'user', 'assistant', 'tool'], calls: [[{ name: 'read_file', args: { path: 'src/a.js' } }]] });
    expect(keyOf({ alias: 'coder', frId: 'FR-7', step: 'code-r2' }, shape)).toEqual({ frId: 'FR-7', role: 'code', round: 2, turn: 1 });
    expect(keyOf({ alias: 'coder' }, shape)).toEqual({ frId: '', role: 'coder', turn: 1 });
    expect(describeKey({ frId: 'FR-7', role: 'code', round: 2, turn: 1 })).toBe('FR-7 code round 2 turn 1');
  });

  it("reads Anthropic's blocks: tool calls from tool_use, tool results as the user message's kind", () => {
    expect(shapeOf(anthropicBody)).toEqual({
      turn: 1,
      messages: ['user', 'assistant(tool_use)', 'user(tool_result)'],
      calls: [[{ name: 'read_file', args: { path: 'src/a.js' } }]],
    });
  });

  it('sees no difference in texts and tool results (timings, paths), and names another tool call or message shape', () => {
    expect(shapeDifference(shapeOf(openAiBody('ok in 31 ms')), shapeOf(openAiBody('ok in 2 ms')))).toBeUndefined();
    expect(shapeDifference(shapeOf(openAiBody('x')), shapeOf(openAiBody('x', 'src/b.js')))).toBe(
      'at turn 0 the recording called read_file({"path":"src/a.js"}), this request has read_file({"path":"src/b.js"})',
    );
    const extra = openAiBody('x');
    extra.messages.push({ role: 'user', content: 'You repeated yourself.' });
    expect(shapeDifference(shapeOf(openAiBody('x')), shapeOf(extra))).toBe(
      'message 4 is absent in the recording and user here (recorded 4 messages, this request 5)',
    );
  });
});
