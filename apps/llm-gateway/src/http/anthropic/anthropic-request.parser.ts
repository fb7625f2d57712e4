import { isRecord, kindOf } from '../../common/shape.js';
import type { LlmCacheControl, LlmChatBody, LlmMessage, LlmTool, LlmToolCall, LlmToolChoice } from '../../providers/llm-provider.js';
import { ApiError } from '../api-error.js';

/** An Anthropic Messages request, checked and turned into the gateway's neutral format. */
export interface ParsedMessagesRequest {
  alias: string;
  stream: boolean;
  body: LlmChatBody;
}

/** Anthropic names fields with dots: messages.1.content.0.type. */
const at = (base: string, key: string | number) => (base ? `${base}.${key}` : String(key));

function fail(param: string, message: string): never {
  throw ApiError.invalidRequest(`${param}: ${message}`, param);
}

function str(value: unknown, param: string, allowEmpty = false): string {
  if (typeof value !== 'string') fail(param, `must be a string, got ${kindOf(value)}`);
  if (!allowEmpty && value === '') fail(param, 'must not be empty');
  return value;
}

function num(value: unknown, param: string, min: number, max: number, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(param, `must be a number, got ${kindOf(value)}`);
  if (integer && !Number.isInteger(value)) fail(param, `must be an integer, got ${value}`);
  if (value < min || value > max) fail(param, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Anthropic's limit on cache_control breakpoints per request. */
export const MAX_CACHE_BREAKPOINTS = 4;

/**
 * The client's cache_control breakpoints, checked as Anthropic checks them and counted (at most
 * four per request), so an Anthropic provider gets them where the client put them.
 */
class CacheMarks {
  count = 0;

  read(block: Record<string, unknown>, param: string): { cacheControl?: LlmCacheControl } {
    const raw = block.cache_control;
    if (raw === undefined || raw === null) return {};
    const p = at(param, 'cache_control');
    if (!isRecord(raw) || raw.type !== 'ephemeral') fail(at(p, 'type'), `must be "ephemeral", got ${JSON.stringify(isRecord(raw) ? raw.type : raw)}`);
    if (raw.ttl !== undefined && raw.ttl !== '5m' && raw.ttl !== '1h') fail(at(p, 'ttl'), `must be "5m" or "1h", got ${JSON.stringify(raw.ttl)}`);
    this.count += 1;
    if (this.count > MAX_CACHE_BREAKPOINTS) fail(p, `a request may set cache_control on at most ${MAX_CACHE_BREAKPOINTS} blocks; this is the ${this.count}th`);
    return { cacheControl: raw.ttl ? { type: 'ephemeral', ttl: raw.ttl } : { type: 'ephemeral' } };
  }
}

/** Text blocks (a system prompt, a tool result's content), each with its cache_control. */
function textBlocks(value: unknown, param: string, marks: CacheMarks): Array<{ text: string; cacheControl?: LlmCacheControl }> {
  if (typeof value === 'string') return [{ text: value }];
  if (!Array.isArray(value)) fail(param, `must be a string or a list of text blocks, got ${kindOf(value)}`);
  return value.map((b, i) => {
    if (!isRecord(b) || b.type !== 'text')
      fail(at(at(param, i), 'type'), `only "text" blocks are supported here, got ${JSON.stringify(isRecord(b) ? b.type : b)}`);
    return { text: str(b.text, at(at(param, i), 'text'), true), ...marks.read(b, at(param, i)) };
  });
}

/** A list of text blocks as one text; a breakpoint on any of them marks the whole (the last block). */
function joined(parts: Array<{ text: string; cacheControl?: LlmCacheControl }>): { text: string; cacheControl?: LlmCacheControl } {
  const marked = parts.findLast((b) => b.cacheControl);
  return { text: parts.map((b) => b.text).join('\n\n'), ...(marked ? { cacheControl: marked.cacheControl } : {}) };
}

function blocks(value: unknown, param: string): Record<string, unknown>[] {
  if (typeof value === 'string') return [{ type: 'text', text: value }];
  if (!Array.isArray(value)) fail(param, `must be a string or a list of content blocks, got ${kindOf(value)}`);
  return value.map((b, i) => {
    if (!isRecord(b)) fail(at(param, i), `must be a content block object, got ${kindOf(b)}`);
    return b;
  });
}

/**
 * A user turn: its tool results become tool messages, its text one user message after them. Text
 * blocks of a turn with a breakpoint among them stay separate messages (an Anthropic provider
 * gets them back as separate blocks, the breakpoint where the client put it).
 */
function userTurn(content: unknown, param: string, out: LlmMessage[], marks: CacheMarks): void {
  const texts: Array<{ text: string; cacheControl?: LlmCacheControl }> = [];
  blocks(content, param).forEach((b, i) => {
    const p = at(param, i);
    if (b.type === 'text') texts.push({ text: str(b.text, at(p, 'text'), true), ...marks.read(b, p) });
    else if (b.type === 'tool_result') {
      if (b.is_error !== undefined && typeof b.is_error !== 'boolean') fail(at(p, 'is_error'), `must be a boolean, got ${kindOf(b.is_error)}`);
      const own = marks.read(b, p);
      // A breakpoint inside the result's content marks the result itself.
      const inner = b.content === undefined ? { text: '' } : joined(textBlocks(b.content, at(p, 'content'), marks));
      const cacheControl = own.cacheControl ?? inner.cacheControl;
      out.push({
        role: 'tool',
        toolCallId: str(b.tool_use_id, at(p, 'tool_use_id')),
        content: inner.text,
        ...(b.is_error ? { isError: true } : {}),
        ...(cacheControl ? { cacheControl } : {}),
      });
    } else fail(at(p, 'type'), `only "text" and "tool_result" blocks are supported in a user message, got ${JSON.stringify(b.type)}`);
  });
  if (texts.some((t) => t.cacheControl))
    for (const t of texts) out.push({ role: 'user', content: t.text, ...(t.cacheControl ? { cacheControl: t.cacheControl } : {}) });
  else if (texts.length || typeof content === 'string') out.push({ role: 'user', content: texts.map((t) => t.text).join('\n\n') });
}

function assistantTurn(content: unknown, param: string, marks: CacheMarks): LlmMessage {
  const texts: Array<{ text: string; cacheControl?: LlmCacheControl }> = [];
  const calls: LlmToolCall[] = [];
  blocks(content, param).forEach((b, i) => {
    const p = at(param, i);
    if (b.type === 'text') texts.push({ text: str(b.text, at(p, 'text'), true), ...marks.read(b, p) });
    else if (b.type === 'tool_use') {
      if (b.input !== undefined && !isRecord(b.input)) fail(at(p, 'input'), `must be an object, got ${kindOf(b.input)}`);
      calls.push({ id: str(b.id, at(p, 'id')), name: str(b.name, at(p, 'name')), arguments: JSON.stringify(b.input ?? {}), ...marks.read(b, p) });
    } else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') {
      fail(at(p, 'type'), `only "text" and "tool_use" blocks are supported in an assistant message, got ${JSON.stringify(b.type)}`);
    }
    // Thinking blocks are the model's scratch work: not part of the neutral conversation.
  });
  const text = joined(texts);
  return {
    role: 'assistant',
    content: texts.length ? text.text : calls.length ? null : '',
    ...(calls.length ? { toolCalls: calls } : {}),
    ...(text.cacheControl ? { cacheControl: text.cacheControl } : {}),
  };
}

function tools(value: unknown, marks: CacheMarks): LlmTool[] {
  if (!Array.isArray(value)) fail('tools', `must be a list, got ${kindOf(value)}`);
  return value.map((t, i) => {
    const p = at('tools', i);
    if (!isRecord(t)) fail(p, `must be an object, got ${kindOf(t)}`);
    if (t.type !== undefined && t.type !== null && t.type !== 'custom')
      fail(at(p, 'type'), `only custom tools (name, description, input_schema) are supported, got ${JSON.stringify(t.type)}`);
    if (!isRecord(t.input_schema)) fail(at(p, 'input_schema'), `must be a JSON Schema object, got ${kindOf(t.input_schema)}`);
    return {
      name: str(t.name, at(p, 'name')),
      ...(t.description !== undefined ? { description: str(t.description, at(p, 'description'), true) } : {}),
      parameters: t.input_schema,
      ...marks.read(t, p),
    };
  });
}

function toolChoice(value: unknown): { choice: LlmToolChoice; parallel?: boolean } {
  if (!isRecord(value)) fail('tool_choice', `must be an object like {"type": "auto"}, got ${kindOf(value)}`);
  const parallel = value.disable_parallel_tool_use === true ? { parallel: false } : {};
  switch (value.type) {
    case 'auto':
      return { choice: 'auto', ...parallel };
    case 'any':
      return { choice: 'required', ...parallel };
    case 'none':
      return { choice: 'none' };
    case 'tool':
      return { choice: { name: str(value.name, 'tool_choice.name') }, ...parallel };
    default:
      fail('tool_choice.type', `must be one of auto, any, tool, none, got ${JSON.stringify(value.type)}`);
  }
}

/**
 * Checks an Anthropic `POST /v1/messages` body. A bad field is a 400 in Anthropic's format whose
 * message names it (`messages.1.content.0.type: ...`). Fields the gateway does not use
 * (metadata, top_k, thinking, service_tier...) are ignored.
 */
export function parseMessagesRequest(body: unknown, options: { countOnly?: boolean } = {}): ParsedMessagesRequest {
  if (!isRecord(body)) throw ApiError.invalidRequest(`the request body must be a JSON object, got ${kindOf(body)}`);
  const alias = str(body.model, 'model');
  // count_tokens takes the prompt only: no max_tokens.
  if (body.max_tokens === undefined && !options.countOnly) fail('max_tokens', 'is required');
  const maxTokens = body.max_tokens === undefined ? undefined : num(body.max_tokens, 'max_tokens', 1, 10_000_000, true);
  if (!Array.isArray(body.messages)) fail('messages', body.messages === undefined ? 'is required' : `must be a list, got ${kindOf(body.messages)}`);
  if (body.messages.length === 0) fail('messages', 'must contain at least one message');
  const messages: LlmMessage[] = [];
  // Counted in Anthropic's order (tools, system, messages), so the fifth breakpoint is the one named.
  const marks = new CacheMarks();
  const toolList = body.tools != null ? tools(body.tools, marks) : undefined;
  if (body.system !== undefined && body.system !== null) {
    const parts = textBlocks(body.system, 'system', marks);
    // System blocks with a breakpoint among them stay apart, for an Anthropic provider to send back as they came.
    if (parts.some((b) => b.cacheControl))
      for (const b of parts) messages.push({ role: 'system', content: b.text, ...(b.cacheControl ? { cacheControl: b.cacheControl } : {}) });
    else {
      const system = joined(parts).text;
      if (system) messages.push({ role: 'system', content: system });
    }
  }
  body.messages.forEach((m, i) => {
    const p = at('messages', i);
    if (!isRecord(m)) fail(p, `must be an object, got ${kindOf(m)}`);
    if (m.role === 'user') userTurn(m.content, at(p, 'content'), messages, marks);
    else if (m.role === 'assistant') messages.push(assistantTurn(m.content, at(p, 'content'), marks));
    else fail(at(p, 'role'), `must be "user" or "assistant", got ${JSON.stringify(m.role)}`);
  });
  const out: LlmChatBody = { messages, ...(maxTokens !== undefined ? { maxTokens } : {}) };
  if (body.temperature != null) out.temperature = num(body.temperature, 'temperature', 0, 1);
  if (body.top_p != null) out.topP = num(body.top_p, 'top_p', 0, 1);
  if (body.top_k != null) num(body.top_k, 'top_k', 0, 1_000_000, true);
  if (body.stop_sequences != null) {
    if (!Array.isArray(body.stop_sequences)) fail('stop_sequences', `must be a list of strings, got ${kindOf(body.stop_sequences)}`);
    out.stop = body.stop_sequences.map((s, i) => str(s, at('stop_sequences', i)));
  }
  if (toolList) out.tools = toolList;
  if (body.tool_choice != null) {
    const { choice, parallel } = toolChoice(body.tool_choice);
    out.toolChoice = choice;
    if (parallel !== undefined) out.parallelToolCalls = parallel;
  }
  if (body.stream != null && typeof body.stream !== 'boolean') fail('stream', `must be a boolean, got ${kindOf(body.stream)}`);
  return { alias, stream: body.stream === true, body: out };
}
