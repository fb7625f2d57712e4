import { childPath, isRecord, kindOf } from '../../common/shape.js';
import type { LlmChatBody, LlmMessage, LlmResponseFormat, LlmTool, LlmToolCall, LlmToolChoice } from '../../providers/llm-provider.js';
import { ApiError } from '../api-error.js';
import { fail, num, str } from './openai-params.js';

/** An OpenAI chat request, checked and turned into the gateway's neutral format. */
export interface ParsedChatRequest {
  alias: string;
  stream: boolean;
  /** stream_options.include_usage: a last chunk carries the usage. */
  includeUsage: boolean;
  body: LlmChatBody;
}

/** Text content: a string, or a list of `{type: "text", text}` parts (joined). */
function text(value: unknown, param: string): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) fail(param, `must be a string or a list of text parts, got ${kindOf(value)}`);
  return value
    .map((part, i) => {
      const p = childPath(param, i);
      if (!isRecord(part)) fail(p, `must be an object, got ${kindOf(part)}`);
      if (part.type !== 'text') fail(childPath(p, 'type'), `only "text" parts are supported, got ${JSON.stringify(part.type)}`);
      return str(part.text, childPath(p, 'text'), { allowEmpty: true });
    })
    .join('');
}

function toolCalls(value: unknown, param: string): LlmToolCall[] {
  if (!Array.isArray(value)) fail(param, `must be a list, got ${kindOf(value)}`);
  return value.map((c, i) => {
    const p = childPath(param, i);
    if (!isRecord(c) || !isRecord(c.function)) fail(p, 'must be {id, type: "function", function: {name, arguments}}');
    return {
      id: str(c.id, childPath(p, 'id')),
      name: str(c.function.name, `${p}.function.name`),
      arguments: str(c.function.arguments ?? '{}', `${p}.function.arguments`, { allowEmpty: true }),
    };
  });
}

function message(value: unknown, param: string): LlmMessage {
  if (!isRecord(value)) fail(param, `must be an object, got ${kindOf(value)}`);
  const role = value.role;
  const contentParam = childPath(param, 'content');
  switch (role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: text(value.content, contentParam) };
    case 'user':
      return { role: 'user', content: text(value.content, contentParam) };
    case 'assistant': {
      const calls = value.tool_calls === undefined || value.tool_calls === null ? undefined : toolCalls(value.tool_calls, childPath(param, 'tool_calls'));
      const content = value.content === undefined || value.content === null ? null : text(value.content, contentParam);
      if (content === null && !calls?.length) fail(contentParam, 'an assistant message needs content or tool_calls');
      return { role: 'assistant', content, ...(calls?.length ? { toolCalls: calls } : {}) };
    }
    case 'tool':
      return { role: 'tool', toolCallId: str(value.tool_call_id, childPath(param, 'tool_call_id')), content: text(value.content, contentParam) };
    default:
      fail(childPath(param, 'role'), `must be one of system, developer, user, assistant, tool, got ${typeof role === 'string' ? `"${role}"` : kindOf(role)}`);
  }
}

function tools(value: unknown): LlmTool[] {
  if (!Array.isArray(value)) fail('tools', `must be a list, got ${kindOf(value)}`);
  return value.map((t, i) => {
    const p = childPath('tools', i);
    if (!isRecord(t) || t.type !== 'function' || !isRecord(t.function)) fail(p, 'must be {type: "function", function: {name, description?, parameters?}}');
    const f = t.function;
    if (f.parameters !== undefined && !isRecord(f.parameters)) fail(`${p}.function.parameters`, `must be a JSON Schema object, got ${kindOf(f.parameters)}`);
    return {
      name: str(f.name, `${p}.function.name`),
      ...(f.description !== undefined ? { description: str(f.description, `${p}.function.description`, { allowEmpty: true }) } : {}),
      ...(f.parameters !== undefined ? { parameters: f.parameters as Record<string, unknown> } : {}),
    };
  });
}

function toolChoice(value: unknown): LlmToolChoice {
  if (value === 'none' || value === 'auto' || value === 'required') return value;
  if (isRecord(value) && value.type === 'function' && isRecord(value.function)) return { name: str(value.function.name, 'tool_choice.function.name') };
  fail('tool_choice', 'must be "none", "auto", "required" or {type: "function", function: {name}}');
}

function responseFormat(value: unknown): LlmResponseFormat {
  if (!isRecord(value)) fail('response_format', `must be an object, got ${kindOf(value)}`);
  const type = value.type;
  if (type !== 'text' && type !== 'json_object' && type !== 'json_schema')
    fail('response_format.type', `must be one of text, json_object, json_schema, got ${JSON.stringify(type)}`);
  if (type !== 'json_schema') return { type };
  if (!isRecord(value.json_schema)) fail('response_format.json_schema', 'is required when type is json_schema');
  return { type, jsonSchema: value.json_schema };
}

/**
 * Checks an OpenAI `POST /v1/chat/completions` body. A bad field is a 400 in OpenAI's format whose
 * message and `param` name the field (`messages[1].role`). Fields the gateway does not use
 * (user, seed, metadata...) are ignored, as OpenAI-compatible servers commonly do.
 */
export function parseChatRequest(body: unknown): ParsedChatRequest {
  if (!isRecord(body)) throw ApiError.invalidRequest(`the request body must be a JSON object, got ${kindOf(body)}`);
  const alias = str(body.model, 'model');
  if (!Array.isArray(body.messages)) fail('messages', body.messages === undefined ? 'is required' : `must be a list, got ${kindOf(body.messages)}`);
  if (body.messages.length === 0) fail('messages', 'must contain at least one message');
  const messages = body.messages.map((m, i) => message(m, childPath('messages', i)));
  const out: ParsedChatRequest['body'] = { messages };
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null)
    out.maxTokens = num(maxTokens, body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens', 1, 10_000_000, true);
  if (body.temperature != null) out.temperature = num(body.temperature, 'temperature', 0, 2);
  if (body.top_p != null) out.topP = num(body.top_p, 'top_p', 0, 1);
  if (body.n != null && num(body.n, 'n', 1, 128, true) !== 1) fail('n', 'only n=1 is supported');
  if (body.stop != null) {
    const stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (!Array.isArray(stop) || stop.length > 4) fail('stop', 'must be a string or a list of up to 4 strings');
    out.stop = stop.map((s, i) => str(s, childPath('stop', i)));
  }
  if (body.response_format != null) out.responseFormat = responseFormat(body.response_format);
  if (body.tools != null) out.tools = tools(body.tools);
  if (body.tool_choice != null) out.toolChoice = toolChoice(body.tool_choice);
  if (body.parallel_tool_calls != null) {
    if (typeof body.parallel_tool_calls !== 'boolean') fail('parallel_tool_calls', `must be a boolean, got ${kindOf(body.parallel_tool_calls)}`);
    out.parallelToolCalls = body.parallel_tool_calls;
  }
  if (body.stream != null && typeof body.stream !== 'boolean') fail('stream', `must be a boolean, got ${kindOf(body.stream)}`);
  const options = body.stream_options;
  if (options != null && (!isRecord(options) || (options.include_usage != null && typeof options.include_usage !== 'boolean'))) {
    fail('stream_options', 'must be {include_usage: boolean}');
  }
  return { alias, stream: body.stream === true, includeUsage: isRecord(options) && options.include_usage === true, body: out };
}
