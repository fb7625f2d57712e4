import { isRecord } from '../../common/shape.js';
import { truncatedError } from '../http/upstream-errors.js';
import type { SseEvent } from '../http/sse.decoder.js';
import {
  ProviderError,
  type LlmCacheControl,
  type LlmChatRequest,
  type LlmChatResponse,
  type LlmFinishReason,
  type LlmMessage,
  type LlmStreamEvent,
  type LlmToolCall,
  type LlmUsage,
} from '../llm-provider.js';
import { hasClientBreakpoints, placeCacheBreakpoints, type AnthropicMessage, type Block, type TextBlock } from './anthropic-cache.js';
import { argumentsObject, joinUrl, WireError, type WireFormat, type WireRequest, type WireStreamReader } from './wire-format.js';

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

const cc = (c: LlmCacheControl | undefined) => (c ? { cache_control: c } : {});

function blocksOf(m: Exclude<LlmMessage, { role: 'system' }>): Block[] {
  switch (m.role) {
    case 'user':
      return m.content === '' ? [] : [{ type: 'text', text: m.content, ...cc(m.cacheControl) }];
    case 'assistant':
      return [
        ...(m.content ? [{ type: 'text' as const, text: m.content, ...cc(m.cacheControl) }] : []),
        ...(m.toolCalls ?? []).map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: argumentsObject(c.arguments), ...cc(c.cacheControl) })),
      ];
    case 'tool':
      return [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content, ...(m.isError ? { is_error: true } : {}), ...cc(m.cacheControl) }];
  }
}

/**
 * OpenAI-style messages as Anthropic wants them: system messages lifted into `system`, tool
 * results inside user messages, consecutive messages of one role merged (Anthropic alternates).
 * The system prompt is one string unless a client's breakpoint marks one of its parts.
 */
export function anthropicMessages(messages: readonly LlmMessage[]): { system?: string | TextBlock[]; messages: AnthropicMessage[] } {
  const system: TextBlock[] = [];
  const out: { role: 'user' | 'assistant'; blocks: Block[] }[] = [];
  for (const m of messages) {
    if (m.role === 'system') {
      system.push({ type: 'text', text: m.content, ...cc(m.cacheControl) });
      continue;
    }
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const last = out.at(-1);
    if (last?.role === role) last.blocks.push(...blocksOf(m));
    else out.push({ role, blocks: blocksOf(m) });
  }
  const systemValue = system.some((b) => b.cache_control) ? system : system.map((b) => b.text).join('\n\n');
  return {
    ...(system.length ? { system: systemValue } : {}),
    // A lone unmarked text block is sent as a plain string, as people write it.
    messages: out.map(({ role, blocks }) => ({
      role,
      content: blocks.length === 1 && blocks[0]!.type === 'text' && !blocks[0]!.cache_control ? blocks[0]!.text : blocks,
    })),
  };
}

/** Anthropic has no JSON mode: the instruction goes into the system prompt instead. */
function jsonInstruction(call: LlmChatRequest): string | undefined {
  const f = call.responseFormat;
  if (!f || f.type === 'text') return undefined;
  const schema = f.type === 'json_schema' && isRecord(f.jsonSchema) ? f.jsonSchema.schema : undefined;
  return `Answer with one JSON object and nothing else: no prose, no code fences.${schema ? ` It must match this JSON Schema: ${JSON.stringify(schema)}` : ''}`;
}

function withInstruction(system: string | TextBlock[] | undefined, instruction: string | undefined): string | TextBlock[] | undefined {
  if (!instruction) return system;
  if (Array.isArray(system)) return [...system, { type: 'text', text: instruction }];
  return system ? `${system}\n\n${instruction}` : instruction;
}

/**
 * Anthropic's request. Breakpoints: a client's own are sent as they came; a request with none gets
 * the gateway's (anthropic-cache.ts), so a tool loop reads its growing prefix from the cache.
 */
export function anthropicBody(call: LlmChatRequest, stream: boolean, defaultMaxTokens: number): Record<string, unknown> {
  const { system, messages } = anthropicMessages(call.messages);
  const body: Record<string, unknown> = { model: call.model, max_tokens: call.maxTokens ?? defaultMaxTokens };
  const fullSystem = withInstruction(system, jsonInstruction(call));
  if (fullSystem) body.system = fullSystem;
  body.messages = messages;
  // Anthropic's temperature range is 0-1, OpenAI's 0-2.
  if (call.temperature !== undefined) body.temperature = Math.min(call.temperature, 1);
  if (call.topP !== undefined) body.top_p = call.topP;
  if (call.stop?.length) body.stop_sequences = call.stop;
  if (call.tools?.length) {
    body.tools = call.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: t.parameters ?? { type: 'object', properties: {} },
      ...cc(t.cacheControl),
    }));
  }
  const c = call.toolChoice;
  const choice: Record<string, unknown> | undefined =
    c === undefined
      ? undefined
      : c === 'auto'
        ? { type: 'auto' }
        : c === 'required'
          ? { type: 'any' }
          : c === 'none'
            ? { type: 'none' }
            : { type: 'tool', name: c.name };
  if (call.parallelToolCalls === false && call.tools?.length && choice?.type !== 'none')
    body.tool_choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  else if (choice) body.tool_choice = choice;
  if (stream) body.stream = true;
  if (!hasClientBreakpoints(call)) placeCacheBreakpoints(body, call.model);
  return body;
}

export function anthropicFinish(stop: unknown): LlmFinishReason {
  if (stop === 'max_tokens' || stop === 'model_context_window_exceeded') return 'length';
  if (stop === 'tool_use') return 'tool_calls';
  if (stop === 'refusal') return 'content_filter';
  return 'stop';
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Anthropic's input_tokens exclude cache reads and writes; ours include them. */
export function anthropicUsage(u: Record<string, unknown>): LlmUsage {
  const read = num(u.cache_read_input_tokens);
  const write = num(u.cache_creation_input_tokens);
  return { inputTokens: num(u.input_tokens) + read + write, cachedInputTokens: read, cacheWriteInputTokens: write, outputTokens: num(u.output_tokens) };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new WireError(`${what} is not JSON (${(e as Error).message})`);
  }
}

export function parseAnthropicMessage(body: Buffer, call: LlmChatRequest): LlmChatResponse {
  const json = parseJson(body.toString('utf8'), 'the message');
  if (!isRecord(json) || !Array.isArray(json.content) || !isRecord(json.usage)) throw new WireError('the message has no content list or no usage');
  let text: string | null = null;
  const toolCalls: LlmToolCall[] = [];
  json.content.forEach((b, i) => {
    if (!isRecord(b)) throw new WireError(`content[${i}] is not an object`);
    if (b.type === 'text') text = (text ?? '') + (typeof b.text === 'string' ? b.text : '');
    else if (b.type === 'tool_use') {
      if (typeof b.id !== 'string' || typeof b.name !== 'string') throw new WireError(`content[${i}] (tool_use) has no id or name`);
      toolCalls.push({ id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) });
    }
    // thinking and server-tool blocks are not part of the neutral answer
  });
  return {
    ...(typeof json.id === 'string' ? { id: json.id } : {}),
    model: typeof json.model === 'string' ? json.model : call.model,
    content: text ?? (toolCalls.length ? null : ''),
    toolCalls,
    finishReason: anthropicFinish(json.stop_reason),
    usage: anthropicUsage(json.usage),
  };
}

/** An `event: error` in Anthropic's stream, e.g. overloaded_error. */
function streamError(provider: string, data: Record<string, unknown>): ProviderError {
  const e = isRecord(data.error) ? data.error : {};
  const type = typeof e.type === 'string' ? e.type : 'error';
  const said = `provider "${provider}" failed in the middle of its stream (${type}): ${typeof e.message === 'string' ? e.message : 'no message'}`;
  if (type === 'rate_limit_error') return new ProviderError(said, 429, 'upstream_rate_limited', true);
  if (type === 'overloaded_error') return new ProviderError(said, 502, 'upstream_overloaded', true);
  return new ProviderError(said, 502, 'upstream_error', true);
}

/** Reads Anthropic's message_start ... message_stop event sequence. */
export class AnthropicStreamReader implements WireStreamReader {
  private id?: string;
  private model?: string;
  private usage: Record<string, unknown> = {};
  private text: string | null = null;
  private readonly calls: LlmToolCall[] = [];
  /** Anthropic content-block index -> our tool-call index, for tool_use blocks. */
  private readonly toolOfBlock = new Map<number, number>();
  private stopReason?: unknown;
  private stopped = false;

  constructor(
    private readonly provider: string,
    private readonly call: LlmChatRequest,
  ) {}

  read(event: SseEvent): LlmStreamEvent[] {
    if (event.event === 'ping') return [];
    const data = parseJson(event.data, `a stream event (${event.event ?? 'unnamed'})`);
    if (!isRecord(data)) throw new WireError('a stream event is not an object');
    const type = data.type ?? event.event;
    switch (type) {
      case 'message_start': {
        const m = isRecord(data.message) ? data.message : {};
        if (typeof m.id === 'string') this.id = m.id;
        if (typeof m.model === 'string') this.model = m.model;
        if (isRecord(m.usage)) this.usage = { ...m.usage };
        return [{ kind: 'start', ...(this.id ? { id: this.id } : {}), usage: anthropicUsage(this.usage) }];
      }
      case 'content_block_start':
        return this.blockStart(num(data.index), isRecord(data.content_block) ? data.content_block : {});
      case 'content_block_delta':
        return this.blockDelta(num(data.index), isRecord(data.delta) ? data.delta : {});
      case 'content_block_stop': {
        const tool = this.toolOfBlock.get(num(data.index));
        // A tool called without arguments streams no input_json_delta; clients still want "{}".
        if (tool !== undefined && this.calls[tool]!.arguments === '') {
          this.calls[tool]!.arguments = '{}';
          return [{ kind: 'tool-call-args', index: tool, arguments: '{}' }];
        }
        return [];
      }
      case 'message_delta': {
        if (isRecord(data.delta) && data.delta.stop_reason != null) this.stopReason = data.delta.stop_reason;
        // message_delta usage counters are cumulative totals: overwrite what they carry.
        if (isRecord(data.usage)) for (const [k, v] of Object.entries(data.usage)) if (v !== null && v !== undefined) this.usage[k] = v;
        return [];
      }
      case 'message_stop':
        this.stopped = true;
        return [];
      case 'error':
        throw streamError(this.provider, data);
      default:
        return [];
    }
  }

  private blockStart(index: number, block: Record<string, unknown>): LlmStreamEvent[] {
    if (block.type === 'text') {
      const t = typeof block.text === 'string' ? block.text : '';
      this.text = (this.text ?? '') + t;
      return t ? [{ kind: 'text', text: t }] : [];
    }
    if (block.type !== 'tool_use') return [];
    if (typeof block.id !== 'string' || typeof block.name !== 'string') throw new WireError('a tool_use block starts without id or name');
    const tool = this.calls.length;
    this.toolOfBlock.set(index, tool);
    const initial = isRecord(block.input) && Object.keys(block.input).length ? JSON.stringify(block.input) : '';
    this.calls.push({ id: block.id, name: block.name, arguments: initial });
    const out: LlmStreamEvent[] = [{ kind: 'tool-call-start', index: tool, id: block.id, name: block.name }];
    if (initial) out.push({ kind: 'tool-call-args', index: tool, arguments: initial });
    return out;
  }

  private blockDelta(index: number, delta: Record<string, unknown>): LlmStreamEvent[] {
    if (delta.type === 'text_delta' && typeof delta.text === 'string' && delta.text !== '') {
      this.text = (this.text ?? '') + delta.text;
      return [{ kind: 'text', text: delta.text }];
    }
    const tool = this.toolOfBlock.get(index);
    if (delta.type === 'input_json_delta' && tool !== undefined && typeof delta.partial_json === 'string' && delta.partial_json !== '') {
      this.calls[tool]!.arguments += delta.partial_json;
      return [{ kind: 'tool-call-args', index: tool, arguments: delta.partial_json }];
    }
    return [];
  }

  finish(): LlmChatResponse {
    if (!this.stopped) throw truncatedError(this.provider, this.id ? 'message_stop never arrived' : 'no event arrived');
    return {
      ...(this.id ? { id: this.id } : {}),
      model: this.model ?? this.call.model,
      content: this.text ?? (this.calls.length ? null : ''),
      toolCalls: this.calls,
      finishReason: anthropicFinish(this.stopReason),
      usage: anthropicUsage(this.usage),
    };
  }
}

/** Anthropic's Messages API (POST {base}/v1/messages). */
export class AnthropicWire implements WireFormat {
  readonly type = 'anthropic';

  constructor(
    private readonly provider: string,
    private readonly baseUrl: string,
    private readonly headers: Record<string, string>,
    private readonly defaultMaxTokens: number,
  ) {}

  request(call: LlmChatRequest, stream: boolean): WireRequest {
    return { url: joinUrl(this.baseUrl, '/v1/messages'), headers: this.headers, body: JSON.stringify(anthropicBody(call, stream, this.defaultMaxTokens)) };
  }

  response(body: Buffer, call: LlmChatRequest): LlmChatResponse {
    return parseAnthropicMessage(body, call);
  }

  streamReader(call: LlmChatRequest): WireStreamReader {
    return new AnthropicStreamReader(this.provider, call);
  }

  /** POST /v1/messages/count_tokens: the prompt's parts only (no max_tokens, sampling or stream). */
  readonly tokenCount = {
    request: (call: LlmChatRequest): WireRequest => {
      const { model, system, messages, tools, tool_choice: toolChoice } = anthropicBody(call, false, this.defaultMaxTokens);
      const body = {
        model,
        ...(system !== undefined ? { system } : {}),
        messages,
        ...(tools !== undefined ? { tools } : {}),
        ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
      };
      return { url: joinUrl(this.baseUrl, '/v1/messages/count_tokens'), headers: this.headers, body: JSON.stringify(body) };
    },
    response: (body: Buffer): number => {
      const json = parseJson(body.toString('utf8'), 'the token count');
      if (!isRecord(json) || typeof json.input_tokens !== 'number') throw new WireError('the token count has no input_tokens');
      return json.input_tokens;
    },
  };
}
