import type { LlmChatRequest, LlmChatResponse, LlmEmbedRequest, LlmEmbedResponse, LlmStreamEvent } from '../llm-provider.js';
import type { SseEvent } from '../http/sse.decoder.js';

/** The vendor sent something that is not its documented format. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** A vendor request, before the transport adds timeouts. */
export interface WireRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Reads one streamed answer: SSE events in, neutral events out; `finish` checks it is complete. */
export interface WireStreamReader {
  read(event: SseEvent): LlmStreamEvent[];
  /** The whole answer; throws a truncation error (ProviderError) when the stream was cut short. */
  finish(): LlmChatResponse;
}

/** One vendor's HTTP format (OpenAI chat completions, Anthropic messages). */
export interface WireFormat {
  /** Reported as gen_ai.provider.name. */
  readonly type: 'openai' | 'anthropic';
  request(call: LlmChatRequest, stream: boolean): WireRequest;
  /** Throws WireError when the body is not a valid answer. */
  response(body: Buffer, call: LlmChatRequest): LlmChatResponse;
  streamReader(call: LlmChatRequest): WireStreamReader;
  /** The vendor's embeddings endpoint, when it has one. */
  embeddings?: {
    request(call: LlmEmbedRequest): WireRequest;
    /** Throws WireError when the body is not a valid answer. */
    response(body: Buffer, call: LlmEmbedRequest): LlmEmbedResponse;
  };
  /** The vendor's token counting endpoint, when it has one: the request, and the count in its answer. */
  tokenCount?: {
    request(call: LlmChatRequest): WireRequest;
    response(body: Buffer): number;
  };
}

/** JSON arguments for a vendor that wants an object (Anthropic's tool_use.input). */
export function argumentsObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // a model's broken arguments: keep them visible rather than fail the whole conversation
  }
  return { arguments: text };
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
