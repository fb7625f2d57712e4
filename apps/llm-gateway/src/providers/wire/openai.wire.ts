import type {
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { isRecord } from '../../common/shape.js';
import { truncatedError } from '../http/upstream-errors.js';
import type { SseEvent } from '../http/sse.decoder.js';
import {
  ProviderError,
  type LlmChatRequest,
  type LlmChatResponse,
  type LlmEmbedRequest,
  type LlmEmbedResponse,
  type LlmFinishReason,
  type LlmMessage,
  type LlmStreamEvent,
  type LlmToolCall,
  type LlmUsage,
} from '../llm-provider.js';
import { estimateInputTokens, estimateOutputTokens } from '../token-estimate.js';
import { joinUrl, WireError, type WireFormat, type WireRequest, type WireStreamReader } from './wire-format.js';

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

function message(m: LlmMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  }
}

function toolChoice(c: NonNullable<LlmChatRequest['toolChoice']>): ChatCompletionToolChoiceOption {
  return typeof c === 'string' ? c : { type: 'function', function: { name: c.name } };
}

/** OpenAI's chat completion request. `maxTokensField`: the official API wants max_completion_tokens, older compatible servers max_tokens. */
export function openAiBody(call: LlmChatRequest, stream: boolean, maxTokensField: 'max_tokens' | 'max_completion_tokens'): Record<string, unknown> {
  const body: Partial<ChatCompletionCreateParamsStreaming> & Record<string, unknown> = { model: call.model, messages: call.messages.map(message) };
  if (call.maxTokens !== undefined) body[maxTokensField] = call.maxTokens;
  if (call.temperature !== undefined) body.temperature = call.temperature;
  if (call.topP !== undefined) body.top_p = call.topP;
  if (call.stop?.length) body.stop = call.stop;
  if (call.responseFormat) {
    body.response_format =
      call.responseFormat.type === 'json_schema'
        ? { type: 'json_schema', json_schema: call.responseFormat.jsonSchema as never }
        : { type: call.responseFormat.type };
  }
  if (call.tools?.length) {
    body.tools = call.tools.map((t): ChatCompletionTool => ({
      type: 'function',
      function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) },
    }));
    if (call.parallelToolCalls !== undefined) body.parallel_tool_calls = call.parallelToolCalls;
  }
  if (call.toolChoice !== undefined) body.tool_choice = toolChoice(call.toolChoice);
  if (stream) {
    body.stream = true;
    // Usage is what the gateway bills by: always ask for it.
    body.stream_options = { include_usage: true };
  }
  return body;
}

function finishReason(value: unknown): LlmFinishReason {
  if (value === 'length' || value === 'tool_calls' || value === 'content_filter') return value;
  if (value === 'function_call') return 'tool_calls';
  return 'stop';
}

/** Normalised usage; estimated from the texts when the server sent none (some compatible servers). */
export function openAiUsage(raw: unknown, call: LlmChatRequest, content: string | null, toolCalls: LlmToolCall[]): LlmUsage {
  if (isRecord(raw) && typeof raw.prompt_tokens === 'number' && typeof raw.completion_tokens === 'number') {
    const details = isRecord(raw.prompt_tokens_details) ? raw.prompt_tokens_details : {};
    return {
      inputTokens: raw.prompt_tokens,
      cachedInputTokens: typeof details.cached_tokens === 'number' ? details.cached_tokens : 0,
      outputTokens: raw.completion_tokens,
    };
  }
  return { inputTokens: estimateInputTokens(call.messages), cachedInputTokens: 0, outputTokens: estimateOutputTokens(content, toolCalls) };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new WireError(`${what} is not JSON (${(e as Error).message})`);
  }
}

export function parseOpenAiCompletion(body: Buffer, call: LlmChatRequest): LlmChatResponse {
  const json = parseJson(body.toString('utf8'), 'the chat completion');
  const choice = isRecord(json) && Array.isArray(json.choices) ? json.choices[0] : undefined;
  if (!isRecord(json) || !isRecord(choice) || !isRecord(choice.message)) throw new WireError('the chat completion has no choices[0].message');
  const m = choice.message;
  if (m.content !== null && m.content !== undefined && typeof m.content !== 'string') throw new WireError('choices[0].message.content is not a string');
  const toolCalls: LlmToolCall[] = [];
  if (Array.isArray(m.tool_calls)) {
    m.tool_calls.forEach((c, i) => {
      if (!isRecord(c) || !isRecord(c.function) || typeof c.function.name !== 'string')
        throw new WireError(`choices[0].message.tool_calls[${i}] has no function.name`);
      toolCalls.push({
        id: typeof c.id === 'string' ? c.id : `call_${i}`,
        name: c.function.name,
        arguments: typeof c.function.arguments === 'string' ? c.function.arguments : '{}',
      });
    });
  }
  const content = typeof m.content === 'string' ? m.content : null;
  return {
    ...(typeof json.id === 'string' ? { id: json.id } : {}),
    ...(typeof json.created === 'number' ? { created: json.created } : {}),
    model: typeof json.model === 'string' ? json.model : call.model,
    content,
    toolCalls,
    finishReason: finishReason(choice.finish_reason),
    usage: openAiUsage(json.usage, call, content, toolCalls),
  };
}

/** Reads OpenAI's `data: {chunk}` ... `data: [DONE]` stream. */
export class OpenAiStreamReader implements WireStreamReader {
  private started = false;
  private id?: string;
  private created?: number;
  private model?: string;
  private text = '';
  private sawText = false;
  private readonly calls: LlmToolCall[] = [];
  /** OpenAI's tool-call index -> ours (in order of appearance). */
  private readonly indexOf = new Map<number, number>();
  private finish_?: LlmFinishReason;
  private usage?: unknown;
  private done = false;

  constructor(
    private readonly provider: string,
    private readonly call: LlmChatRequest,
  ) {}

  read(event: SseEvent): LlmStreamEvent[] {
    if (this.done) return [];
    if (event.data === '[DONE]') {
      this.done = true;
      return [];
    }
    const chunk = parseJson(event.data, 'a stream chunk');
    if (!isRecord(chunk)) throw new WireError('a stream chunk is not an object');
    if (isRecord(chunk.error)) {
      const said = typeof chunk.error.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error);
      throw new ProviderError(`provider "${this.provider}" failed in the middle of its stream: ${said}`, 502, 'upstream_error', true);
    }
    const out: LlmStreamEvent[] = [];
    if (!this.started) {
      this.started = true;
      if (typeof chunk.id === 'string') this.id = chunk.id;
      if (typeof chunk.created === 'number') this.created = chunk.created;
      out.push({ kind: 'start', ...(this.id ? { id: this.id } : {}), ...(this.created !== undefined ? { created: this.created } : {}) });
    }
    if (typeof chunk.model === 'string') this.model = chunk.model;
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isRecord(choice)) return out;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') {
      this.text += delta.content;
      this.sawText = true;
      out.push({ kind: 'text', text: delta.content });
    }
    if (Array.isArray(delta.tool_calls)) for (const d of delta.tool_calls) this.toolDelta(d, out);
    if (typeof choice.finish_reason === 'string') this.finish_ = finishReason(choice.finish_reason);
    return out;
  }

  private toolDelta(d: unknown, out: LlmStreamEvent[]): void {
    if (!isRecord(d)) throw new WireError('a tool_calls delta is not an object');
    const fn = isRecord(d.function) ? d.function : {};
    const upstreamIndex = typeof d.index === 'number' ? d.index : this.calls.length;
    let index = this.indexOf.get(upstreamIndex);
    if (index === undefined) {
      if (typeof fn.name !== 'string') throw new WireError('a tool call starts without function.name');
      index = this.calls.length;
      this.indexOf.set(upstreamIndex, index);
      const call = { id: typeof d.id === 'string' && d.id ? d.id : `call_${index}`, name: fn.name, arguments: '' };
      this.calls.push(call);
      out.push({ kind: 'tool-call-start', index, id: call.id, name: call.name });
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      this.calls[index]!.arguments += fn.arguments;
      out.push({ kind: 'tool-call-args', index, arguments: fn.arguments });
    }
  }

  finish(): LlmChatResponse {
    if (!this.finish_) throw truncatedError(this.provider, this.started ? 'no finish_reason arrived' : 'no chunk arrived');
    const content = this.sawText ? this.text : this.calls.length ? null : '';
    return {
      ...(this.id ? { id: this.id } : {}),
      ...(this.created !== undefined ? { created: this.created } : {}),
      model: this.model ?? this.call.model,
      content,
      toolCalls: this.calls,
      finishReason: this.finish_,
      usage: openAiUsage(this.usage, this.call, content, this.calls),
    };
  }
}

/** OpenAI's chat completions, for api.openai.com (`openai`) and compatible servers (`openai-compatible`). */
export class OpenAiWire implements WireFormat {
  readonly type = 'openai';

  constructor(
    private readonly provider: string,
    private readonly baseUrl: string,
    private readonly headers: Record<string, string>,
    private readonly maxTokensField: 'max_tokens' | 'max_completion_tokens',
  ) {}

  request(call: LlmChatRequest, stream: boolean): WireRequest {
    return { url: joinUrl(this.baseUrl, '/chat/completions'), headers: this.headers, body: JSON.stringify(openAiBody(call, stream, this.maxTokensField)) };
  }

  response(body: Buffer, call: LlmChatRequest): LlmChatResponse {
    return parseOpenAiCompletion(body, call);
  }

  streamReader(call: LlmChatRequest): WireStreamReader {
    return new OpenAiStreamReader(this.provider, call);
  }

  readonly embeddings = {
    request: (call: LlmEmbedRequest): WireRequest => ({
      url: joinUrl(this.baseUrl, '/embeddings'),
      headers: this.headers,
      body: JSON.stringify({
        model: call.model,
        input: call.input,
        encoding_format: 'float',
        ...(call.dimensions !== undefined ? { dimensions: call.dimensions } : {}),
      }),
    }),
    response: (body: Buffer, call: LlmEmbedRequest): LlmEmbedResponse => parseOpenAiEmbeddings(body, call),
  };
}

/** OpenAI's embeddings answer: `data[].embedding` by `index` (floats, or base64 float32 from servers that ignore encoding_format). */
export function parseOpenAiEmbeddings(body: Buffer, call: LlmEmbedRequest): LlmEmbedResponse {
  const json = parseJson(body.toString('utf8'), 'the embeddings answer');
  if (!isRecord(json) || !Array.isArray(json.data)) throw new WireError('the embeddings answer has no data list');
  const vectors: number[][] = [];
  json.data.forEach((d, i) => {
    if (!isRecord(d)) throw new WireError(`data[${i}] is not an object`);
    const index = typeof d.index === 'number' ? d.index : i;
    if (typeof d.embedding === 'string') vectors[index] = [...new Float32Array(Uint8Array.from(Buffer.from(d.embedding, 'base64')).buffer)];
    else if (Array.isArray(d.embedding) && d.embedding.every((x) => typeof x === 'number')) vectors[index] = d.embedding as number[];
    else throw new WireError(`data[${i}].embedding is neither a list of numbers nor base64`);
  });
  if (vectors.length !== call.input.length || vectors.some((v) => v === undefined))
    throw new WireError(`the embeddings answer has ${json.data.length} vectors for ${call.input.length} inputs`);
  const usage = isRecord(json.usage) && typeof json.usage.prompt_tokens === 'number' ? json.usage.prompt_tokens : estimateEmbedTokens(call.input);
  return { model: typeof json.model === 'string' ? json.model : call.model, vectors, usage: { inputTokens: usage, cachedInputTokens: 0, outputTokens: 0 } };
}

/** Tokens of embedding input, for servers that report none: about 4 characters a token, or the token arrays' length. */
export function estimateEmbedTokens(input: string[] | number[][]): number {
  return input.reduce((sum: number, x: string | number[]) => sum + (typeof x === 'string' ? Math.ceil(x.length / 4) : x.length), 0);
}
