import type { LlmMessage } from '../../providers/llm-provider.js';
import type { StoredResponse } from '../../responses/response.store.js';
import { ApiError } from '../api-error.js';
import { parseResponsesRequest, type ResponseLookup } from './responses-request.parser.js';

const said: LlmMessage = { role: 'assistant', content: 'Let me read it.' };
const lookup: ResponseLookup = {
  item: (id) => (id === 'msg_1' ? said : undefined),
  response: (id) =>
    id === 'resp_1'
      ? ({
          conversation: [
            { role: 'user', content: 'earlier' },
            { role: 'assistant', content: 'earlier answer' },
          ],
        } as StoredResponse)
      : undefined,
};

function rejection(body: unknown): string {
  try {
    parseResponsesRequest(body, lookup);
  } catch (e) {
    if (e instanceof ApiError) return `${e.getStatus()} ${e.message}`;
    throw e;
  }
  throw new Error('expected a 400');
}

describe('parseResponsesRequest', () => {
  it("turns instructions and input items into the neutral conversation, joining a turn's text and tool calls", () => {
    const parsed = parseResponsesRequest(
      {
        model: 'coder',
        instructions: 'You code.',
        input: [
          { role: 'developer', content: 'Be brief.' },
          {
            type: 'message',
            role: 'user',
            content: [
              { type: 'input_text', text: 'Read ' },
              { type: 'input_text', text: 'both.' },
            ],
          },
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { type: 'item_reference', id: 'msg_1' },
          { type: 'function_call', call_id: 'c1', name: 'read', arguments: '{"p":"a"}' },
          { type: 'function_call', call_id: 'c2', name: 'read', arguments: '{"p":"b"}' },
          { type: 'function_call_output', call_id: 'c1', output: 'A' },
          { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'B' }] },
        ],
        tools: [{ type: 'function', name: 'read', description: 'reads', parameters: { type: 'object' }, strict: true }],
        tool_choice: { type: 'function', name: 'read' },
        parallel_tool_calls: false,
        max_output_tokens: 200,
        temperature: 0.2,
        text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } },
        store: false,
        include: ['reasoning.encrypted_content'],
      },
      lookup,
    );
    expect(parsed.body).toEqual({
      messages: [
        { role: 'system', content: 'You code.' },
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Read both.' },
        {
          role: 'assistant',
          content: 'Let me read it.',
          toolCalls: [
            { id: 'c1', name: 'read', arguments: '{"p":"a"}' },
            { id: 'c2', name: 'read', arguments: '{"p":"b"}' },
          ],
        },
        { role: 'tool', toolCallId: 'c1', content: 'A' },
        { role: 'tool', toolCallId: 'c2', content: 'B' },
      ],
      maxTokens: 200,
      temperature: 0.2,
      tools: [{ name: 'read', description: 'reads', parameters: { type: 'object' } }],
      toolChoice: { name: 'read' },
      parallelToolCalls: false,
      responseFormat: { type: 'json_schema', jsonSchema: { name: 'out', schema: { type: 'object' }, strict: true } },
    });
    expect(parsed).toMatchObject({ alias: 'coder', stream: false, store: false });
    expect(parsed.conversation[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(parsed.echo).toMatchObject({
      instructions: 'You code.',
      maxOutputTokens: 200,
      parallelToolCalls: false,
      temperature: 0.2,
      topP: 1,
      previousResponseId: null,
    });
  });

  it('continues a stored conversation from previous_response_id', () => {
    const parsed = parseResponsesRequest({ model: 'coder', previous_response_id: 'resp_1', input: 'and now?', stream: true }, lookup);
    expect(parsed.body.messages).toEqual([
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: 'earlier answer' },
      { role: 'user', content: 'and now?' },
    ]);
    expect(parsed.stream).toBe(true);
    expect(parsed.store).toBe(true);
  });

  it.each([
    [{ input: 'x' }, "400 'model': must be a string, got nothing"],
    [{ model: 'c' }, "400 'input': is required"],
    [{ model: 'c', input: [] }, "400 'input': must contain at least one item"],
    [
      { model: 'c', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] },
      `400 'input[0].content[0].type': only text parts (input_text, output_text) are supported, got "input_image"`,
    ],
    [{ model: 'c', input: [{ role: 'tool', content: 'x' }] }, `400 'input[0].role': must be one of user, assistant, system, developer, got "tool"`],
    [
      { model: 'c', input: [{ type: 'item_reference', id: 'msg_9' }] },
      "400 'input[0].id': item 'msg_9' is not stored on this gateway (it keeps the output of recent responses made with store: true); send the item itself instead",
    ],
    [
      { model: 'c', input: 'x', previous_response_id: 'resp_9' },
      "400 'previous_response_id': response 'resp_9' is not stored on this gateway (it keeps recent responses made with store: true); send the whole conversation instead",
    ],
    [{ model: 'c', input: 'x', tools: [{ type: 'web_search' }] }, `400 'tools[0].type': only function tools are supported, got "web_search"`],
    [
      { model: 'c', input: 'x', text: { format: { type: 'json_schema', name: 'n' } } },
      "400 'text.format.schema': is required when type is json_schema (a JSON Schema object)",
    ],
    [{ model: 'c', input: 'x', background: true }, "400 'background': is not supported by this gateway"],
  ])('refuses %j', (body, message) => {
    expect(rejection(body)).toBe(message);
  });
});
