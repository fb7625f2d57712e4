import { childPath, isRecord, kindOf } from '../../common/shape.js';
import type { LlmChatBody, LlmMessage, LlmResponseFormat, LlmTool, LlmToolCall, LlmToolChoice } from '../../providers/llm-provider.js';
import type { StoredResponse } from '../../responses/response.store.js';
import { ApiError } from '../api-error.js';
import { bool, fail, num, str } from '../openai/openai-params.js';

/** What the answer repeats of the request (OpenAI's Response object echoes its settings). */
export interface ResponsesEcho {
  instructions: string | null;
  maxOutputTokens: number | null;
  metadata: Record<string, string>;
  parallelToolCalls: boolean;
  previousResponseId: string | null;
  temperature: number;
  topP: number;
  toolChoice: unknown;
  tools: unknown[];
  text: { format: Record<string, unknown> };
  store: boolean;
  user?: string;
}

/** A `POST /v1/responses` body, checked and turned into the gateway's neutral format. */
export interface ParsedResponsesRequest {
  alias: string;
  stream: boolean;
  store: boolean;
  body: LlmChatBody;
  /** The conversation without the instructions (what a later previous_response_id continues). */
  conversation: LlmMessage[];
  echo: ResponsesEcho;
}

/** Stored answers: earlier responses and their output items. */
export interface ResponseLookup {
  response(id: string): StoredResponse | undefined;
  item(id: string): LlmMessage | undefined;
}

/** Text of a string or of a list of text parts (input_text, output_text, refusal). */
function text(value: unknown, param: string): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) fail(param, `must be a string or a list of content parts, got ${kindOf(value)}`);
  return value
    .map((part, i) => {
      const p = childPath(param, i);
      if (!isRecord(part)) fail(p, `must be an object, got ${kindOf(part)}`);
      if (part.type === 'input_text' || part.type === 'output_text') return str(part.text, childPath(p, 'text'), { allowEmpty: true });
      if (part.type === 'refusal') return str(part.refusal, childPath(p, 'refusal'), { allowEmpty: true });
      fail(childPath(p, 'type'), `only text parts (input_text, output_text) are supported, got ${JSON.stringify(part.type)}`);
    })
    .join('');
}

/** Appends an assistant piece (text or tool calls), joining it to an assistant turn that ends the list. */
function pushAssistant(out: LlmMessage[], piece: Extract<LlmMessage, { role: 'assistant' }>): void {
  const last = out.at(-1);
  if (last?.role === 'assistant' && (piece.toolCalls?.length || !last.toolCalls?.length)) {
    out[out.length - 1] = {
      role: 'assistant',
      content: [last.content, piece.content].filter((c) => c).join('\n\n') || null,
      ...(last.toolCalls?.length || piece.toolCalls?.length ? { toolCalls: [...(last.toolCalls ?? []), ...(piece.toolCalls ?? [])] } : {}),
    };
  } else out.push(piece);
}

function messageItem(item: Record<string, unknown>, p: string, out: LlmMessage[]): void {
  const content = text(item.content, childPath(p, 'content'));
  switch (item.role) {
    case 'system':
    case 'developer':
      out.push({ role: 'system', content });
      return;
    case 'user':
      out.push({ role: 'user', content });
      return;
    case 'assistant':
      pushAssistant(out, { role: 'assistant', content });
      return;
    default:
      fail(childPath(p, 'role'), `must be one of user, assistant, system, developer, got ${JSON.stringify(item.role)}`);
  }
}

function inputItem(item: unknown, p: string, lookup: ResponseLookup, out: LlmMessage[]): void {
  if (!isRecord(item)) fail(p, `must be an object, got ${kindOf(item)}`);
  const type = item.type ?? 'message';
  switch (type) {
    case 'message':
      return messageItem(item, p, out);
    case 'function_call': {
      const call: LlmToolCall = {
        id: str(item.call_id, childPath(p, 'call_id')),
        name: str(item.name, childPath(p, 'name')),
        arguments: str(item.arguments ?? '{}', childPath(p, 'arguments'), { allowEmpty: true }),
      };
      return pushAssistant(out, { role: 'assistant', content: null, toolCalls: [call] });
    }
    case 'function_call_output':
      out.push({ role: 'tool', toolCallId: str(item.call_id, childPath(p, 'call_id')), content: text(item.output, childPath(p, 'output')) });
      return;
    case 'item_reference': {
      const id = str(item.id, childPath(p, 'id'));
      const found = lookup.item(id);
      if (!found || found.role !== 'assistant')
        throw ApiError.invalidRequest(
          `'${childPath(p, 'id')}': item '${id}' is not stored on this gateway (it keeps the output of recent responses made with store: true); send the item itself instead`,
          childPath(p, 'id'),
          'item_not_found',
        );
      return pushAssistant(out, found);
    }
    case 'reasoning':
      // A model's reasoning: not part of the neutral conversation.
      return;
    default:
      fail(
        childPath(p, 'type'),
        `only message, function_call, function_call_output, item_reference and reasoning items are supported, got ${JSON.stringify(type)}`,
      );
  }
}

function tools(value: unknown): LlmTool[] {
  if (!Array.isArray(value)) fail('tools', `must be a list, got ${kindOf(value)}`);
  return value.map((t, i) => {
    const p = childPath('tools', i);
    if (!isRecord(t)) fail(p, `must be an object, got ${kindOf(t)}`);
    if (t.type !== 'function') fail(childPath(p, 'type'), `only function tools are supported, got ${JSON.stringify(t.type)}`);
    if (t.parameters != null && !isRecord(t.parameters)) fail(childPath(p, 'parameters'), `must be a JSON Schema object, got ${kindOf(t.parameters)}`);
    return {
      name: str(t.name, childPath(p, 'name')),
      ...(t.description != null ? { description: str(t.description, childPath(p, 'description'), { allowEmpty: true }) } : {}),
      ...(isRecord(t.parameters) ? { parameters: t.parameters } : {}),
    };
  });
}

function toolChoice(value: unknown): LlmToolChoice {
  if (value === 'none' || value === 'auto' || value === 'required') return value;
  if (isRecord(value) && value.type === 'function') return { name: str(value.name, 'tool_choice.name') };
  fail('tool_choice', 'must be "none", "auto", "required" or {type: "function", name}');
}

function textFormat(value: unknown): { format: Record<string, unknown>; responseFormat?: LlmResponseFormat } {
  if (!isRecord(value)) fail('text', `must be an object, got ${kindOf(value)}`);
  const format = value.format ?? { type: 'text' };
  if (!isRecord(format)) fail('text.format', `must be an object, got ${kindOf(format)}`);
  switch (format.type) {
    case 'text':
      return { format };
    case 'json_object':
      return { format, responseFormat: { type: 'json_object' } };
    case 'json_schema': {
      if (!isRecord(format.schema)) fail('text.format.schema', 'is required when type is json_schema (a JSON Schema object)');
      const { type: _type, ...jsonSchema } = format;
      return { format, responseFormat: { type: 'json_schema', jsonSchema: { ...jsonSchema, name: str(format.name, 'text.format.name') } } };
    }
    default:
      fail('text.format.type', `must be one of text, json_object, json_schema, got ${JSON.stringify(format.type)}`);
  }
}

/** Fields the gateway cannot honour: refused by name rather than silently ignored. */
const UNSUPPORTED = ['background', 'conversation', 'prompt'];

/**
 * Checks an OpenAI `POST /v1/responses` body. `instructions` becomes the system message; input
 * items become the conversation (function_call items join the assistant turn before them);
 * `previous_response_id` and `item_reference` items are resolved from stored answers. A bad field
 * is a 400 in OpenAI's format naming it (`input[2].type`). Fields that change nothing here
 * (include, reasoning, truncation, service_tier, prompt_cache_key...) are accepted and ignored.
 */
export function parseResponsesRequest(body: unknown, lookup: ResponseLookup): ParsedResponsesRequest {
  if (!isRecord(body)) throw ApiError.invalidRequest(`the request body must be a JSON object, got ${kindOf(body)}`);
  for (const key of UNSUPPORTED) if (body[key] != null && body[key] !== false) fail(key, 'is not supported by this gateway');
  const alias = str(body.model, 'model');
  const conversation: LlmMessage[] = [];
  const previous = body.previous_response_id != null ? str(body.previous_response_id, 'previous_response_id') : null;
  if (previous) {
    const stored = lookup.response(previous);
    if (!stored)
      throw ApiError.invalidRequest(
        `'previous_response_id': response '${previous}' is not stored on this gateway (it keeps recent responses made with store: true); send the whole conversation instead`,
        'previous_response_id',
        'previous_response_not_found',
      );
    conversation.push(...stored.conversation);
  }
  if (typeof body.input === 'string') conversation.push({ role: 'user', content: body.input });
  else if (Array.isArray(body.input)) body.input.forEach((item, i) => inputItem(item, childPath('input', i), lookup, conversation));
  else fail('input', body.input === undefined ? 'is required' : `must be a string or a list of input items, got ${kindOf(body.input)}`);
  const instructions = body.instructions != null ? str(body.instructions, 'instructions', { allowEmpty: true }) : null;
  const messages: LlmMessage[] = instructions ? [{ role: 'system', content: instructions }, ...conversation] : [...conversation];
  if (messages.length === 0) fail('input', 'must contain at least one item');
  const out: LlmChatBody = { messages };
  if (body.max_output_tokens != null) out.maxTokens = num(body.max_output_tokens, 'max_output_tokens', 1, 10_000_000, true);
  if (body.temperature != null) out.temperature = num(body.temperature, 'temperature', 0, 2);
  if (body.top_p != null) out.topP = num(body.top_p, 'top_p', 0, 1);
  if (body.tools != null) out.tools = tools(body.tools);
  if (body.tool_choice != null) out.toolChoice = toolChoice(body.tool_choice);
  if (body.parallel_tool_calls != null) out.parallelToolCalls = bool(body.parallel_tool_calls, 'parallel_tool_calls');
  const format = body.text != null ? textFormat(body.text) : { format: { type: 'text' } };
  if (format.responseFormat) out.responseFormat = format.responseFormat;
  const stream = body.stream != null ? bool(body.stream, 'stream') : false;
  const store = body.store != null ? bool(body.store, 'store') : true;
  const metadata = isRecord(body.metadata) ? (body.metadata as Record<string, string>) : {};
  return {
    alias,
    stream,
    store,
    body: out,
    conversation,
    echo: {
      instructions,
      maxOutputTokens: out.maxTokens ?? null,
      metadata,
      parallelToolCalls: out.parallelToolCalls ?? true,
      previousResponseId: previous,
      temperature: out.temperature ?? 1,
      topP: out.topP ?? 1,
      toolChoice: body.tool_choice ?? 'auto',
      tools: Array.isArray(body.tools) ? body.tools : [],
      text: { format: format.format },
      store,
      ...(typeof body.user === 'string' ? { user: body.user } : {}),
    },
  };
}
