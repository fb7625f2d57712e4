import { ApiError } from '../api-error.js';
import { parseChatRequest } from './openai-request.parser.js';

const user = { role: 'user', content: 'hi' };

function rejection(body: unknown): { param: string | null; message: string; status: number } {
  try {
    parseChatRequest(body);
  } catch (e) {
    if (e instanceof ApiError) return { param: e.param, message: e.message, status: e.getStatus() };
    throw e;
  }
  throw new Error('expected a 400');
}

describe('parseChatRequest', () => {
  it('turns an OpenAI request into the neutral format', () => {
    const parsed = parseChatRequest({
      model: 'coder',
      messages: [
        { role: 'developer', content: 'rules' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read', arguments: '{"p":1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'file text' },
      ],
      max_tokens: 100,
      temperature: 0,
      stop: 'END',
      response_format: { type: 'json_object' },
      tools: [{ type: 'function', function: { name: 'read', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
      stream: true,
      stream_options: { include_usage: true },
      user: 'ignored',
    });
    expect(parsed).toEqual({
      alias: 'coder',
      stream: true,
      includeUsage: true,
      body: {
        messages: [
          { role: 'system', content: 'rules' },
          { role: 'user', content: 'ab' },
          { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'read', arguments: '{"p":1}' }] },
          { role: 'tool', toolCallId: 'c1', content: 'file text' },
        ],
        maxTokens: 100,
        temperature: 0,
        stop: ['END'],
        responseFormat: { type: 'json_object' },
        tools: [{ name: 'read', parameters: { type: 'object' } }],
        toolChoice: 'auto',
      },
    });
  });

  it('prefers max_completion_tokens and passes a json_schema format on', () => {
    const parsed = parseChatRequest({
      model: 'm',
      messages: [user],
      max_tokens: 5,
      max_completion_tokens: 9,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } },
    });
    expect(parsed.body.maxTokens).toBe(9);
    expect(parsed.body.responseFormat).toEqual({ type: 'json_schema', jsonSchema: { name: 'x', schema: {} } });
    expect(parsed.stream).toBe(false);
  });

  it.each([
    [{ messages: [user] }, 'model', "'model': must be a string, got nothing"],
    [{ model: '', messages: [user] }, 'model', "'model': must not be empty"],
    [{ model: 'm' }, 'messages', "'messages': is required"],
    [{ model: 'm', messages: [] }, 'messages', "'messages': must contain at least one message"],
    [
      { model: 'm', messages: [user, { role: 'robot', content: 'x' }] },
      'messages[1].role',
      '\'messages[1].role\': must be one of system, developer, user, assistant, tool, got "robot"',
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: 3 }] },
      'messages[0].content',
      "'messages[0].content': must be a string or a list of text parts, got a number",
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
      'messages[0].content[0].type',
      '\'messages[0].content[0].type\': only "text" parts are supported, got "image_url"',
    ],
    [{ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id', "'messages[0].tool_call_id': must be a string, got nothing"],
    [{ model: 'm', messages: [{ role: 'assistant' }] }, 'messages[0].content', "'messages[0].content': an assistant message needs content or tool_calls"],
    [{ model: 'm', messages: [user], temperature: 3 }, 'temperature', "'temperature': must be between 0 and 2, got 3"],
    [{ model: 'm', messages: [user], max_tokens: 1.5 }, 'max_tokens', "'max_tokens': must be an integer, got 1.5"],
    [{ model: 'm', messages: [user], n: 2 }, 'n', "'n': only n=1 is supported"],
    [{ model: 'm', messages: [user], stream: 'yes' }, 'stream', "'stream': must be a boolean, got a string"],
    [
      { model: 'm', messages: [user], response_format: { type: 'xml' } },
      'response_format.type',
      '\'response_format.type\': must be one of text, json_object, json_schema, got "xml"',
    ],
    [
      { model: 'm', messages: [user], tools: [{ type: 'function', function: {} }] },
      'tools[0].function.name',
      "'tools[0].function.name': must be a string, got nothing",
    ],
    [
      { model: 'm', messages: [user], tool_choice: 'always' },
      'tool_choice',
      '\'tool_choice\': must be "none", "auto", "required" or {type: "function", function: {name}}',
    ],
  ])('refuses %j naming %s', (body, param, message) => {
    expect(rejection(body)).toEqual({ param, message, status: 400 });
  });

  it('refuses a body that is not an object', () => {
    expect(rejection([1])).toEqual({ param: null, message: 'the request body must be a JSON object, got an array', status: 400 });
  });
});
