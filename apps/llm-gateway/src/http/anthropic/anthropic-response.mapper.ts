import type { ChatOutcome, CompletionMeta } from '../../chat/chat.service.js';
import type { LlmFinishReason, LlmStreamPiece, LlmUsage } from '../../providers/llm-provider.js';
import { argumentsObject } from '../../providers/wire/wire-format.js';
import type { ApiError } from '../api-error.js';
import type { SseWriter } from '../sse.writer.js';

// The subset of Anthropic's Messages API response the gateway produces.

type Block = { type: 'text'; text: string; citations?: null } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: Block[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/** The vendor's id when it gave one, else the gateway's in Anthropic's style. */
export function anthropicId(meta: CompletionMeta): string {
  return meta.upstreamId ?? `msg_${meta.localId}`;
}

export function stopReasonOf(finish: LlmFinishReason): string {
  return { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', content_filter: 'refusal' }[finish];
}

/** Anthropic counts cache reads and writes apart from input_tokens; ours include them. */
export function anthropicUsageOf(u: LlmUsage): AnthropicUsage {
  const write = u.cacheWriteInputTokens ?? 0;
  return {
    input_tokens: Math.max(0, u.inputTokens - u.cachedInputTokens - write),
    output_tokens: u.outputTokens,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: u.cachedInputTokens,
  };
}

export function toMessage(o: ChatOutcome): AnthropicMessage {
  const r = o.response;
  const content: Block[] = [];
  if (r.content) content.push({ type: 'text', text: r.content, citations: null });
  for (const c of r.toolCalls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: argumentsObject(c.arguments) });
  return {
    id: anthropicId(o),
    type: 'message',
    role: 'assistant',
    model: o.ref,
    content,
    stop_reason: stopReasonOf(r.finishReason),
    stop_sequence: null,
    usage: anthropicUsageOf(r.usage),
  };
}

/**
 * Writes Anthropic's stream: message_start, then per content block content_block_start,
 * content_block_delta... content_block_stop, then message_delta (stop reason, usage) and
 * message_stop. A failure after the start is an `event: error`, and message_stop never follows.
 */
export class AnthropicStreamWriter {
  private block = -1;
  private open = false;
  private current?: 'text' | number;
  /** Our tool-call index -> its content block index. */
  private readonly blockOfTool = new Map<number, number>();

  constructor(private readonly sse: SseWriter) {}

  start(meta: CompletionMeta, usage: LlmUsage | undefined): void {
    const u = anthropicUsageOf(usage ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
    const message: AnthropicMessage = {
      id: anthropicId(meta),
      type: 'message',
      role: 'assistant',
      model: meta.ref,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...u, output_tokens: 0 },
    };
    this.sse.event('message_start', { type: 'message_start', message });
    this.sse.event('ping', { type: 'ping' });
  }

  piece(event: LlmStreamPiece): void {
    if (event.kind === 'text') {
      if (this.current !== 'text') this.startBlock('text', { type: 'text', text: '' });
      // Written out (only the text differs): the same bytes as the event's object, stringified.
      this.sse.raw(
        `event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.block},"delta":{"type":"text_delta","text":${JSON.stringify(event.text)}}}\n\n`,
      );
    } else if (event.kind === 'tool-call-start') {
      this.startBlock(event.index, { type: 'tool_use', id: event.id, name: event.name, input: {} });
      this.blockOfTool.set(event.index, this.block);
    } else {
      const index = this.blockOfTool.get(event.index);
      if (index !== undefined)
        this.sse.event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: event.arguments } });
    }
  }

  finish(o: ChatOutcome): void {
    this.stopBlock();
    const u = anthropicUsageOf(o.response.usage);
    this.sse.event('message_delta', { type: 'message_delta', delta: { stop_reason: stopReasonOf(o.response.finishReason), stop_sequence: null }, usage: u });
    this.sse.event('message_stop', { type: 'message_stop' });
    this.sse.end();
  }

  fail(error: ApiError): void {
    this.sse.event('error', error.anthropicBody());
    this.sse.end();
  }

  private startBlock(kind: 'text' | number, block: object): void {
    this.stopBlock();
    this.block += 1;
    this.open = true;
    this.current = kind;
    this.sse.event('content_block_start', { type: 'content_block_start', index: this.block, content_block: block });
  }

  private stopBlock(): void {
    if (!this.open) return;
    this.sse.event('content_block_stop', { type: 'content_block_stop', index: this.block });
    this.open = false;
    this.current = undefined;
  }
}
