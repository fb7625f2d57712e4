/**
 * The gateway's neutral chat format: what the HTTP layer turns an OpenAI or Anthropic request
 * into, and what every provider (scripted, OpenAI, Anthropic, OpenAI-compatible, replay) takes
 * and returns. Vendor formats stay inside their wire mappers.
 */

export type LlmRole = 'system' | 'user' | 'assistant' | 'tool';

/**
 * Anthropic's prompt-cache breakpoint, as an Anthropic client set it on a block (kept so it reaches
 * an Anthropic provider where the client put it). Other wire formats ignore it.
 */
export interface LlmCacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

export interface LlmToolCall {
  id: string;
  name: string;
  /** JSON text, exactly as the model produced it. */
  arguments: string;
  /** On the tool_use block. */
  cacheControl?: LlmCacheControl;
}

/** `cacheControl` marks the message's (last) block; on an assistant message, its text block. */
export type LlmMessage =
  | { role: 'system'; content: string; cacheControl?: LlmCacheControl }
  | { role: 'user'; content: string; cacheControl?: LlmCacheControl }
  | { role: 'assistant'; content: string | null; toolCalls?: LlmToolCall[]; cacheControl?: LlmCacheControl }
  | { role: 'tool'; toolCallId: string; content: string; /** Anthropic's tool_result is_error. */ isError?: boolean; cacheControl?: LlmCacheControl };

export interface LlmTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters?: Record<string, unknown>;
  cacheControl?: LlmCacheControl;
}

export type LlmToolChoice = 'none' | 'auto' | 'required' | { name: string };

export interface LlmResponseFormat {
  type: 'text' | 'json_object' | 'json_schema';
  /** The `json_schema` object of an OpenAI request, passed on unchanged. */
  jsonSchema?: Record<string, unknown>;
}

/** Who the call is for: copied from the x-agency-* headers. */
export interface LlmCallContext {
  frId?: string;
  jobId?: string;
  sagaId?: string;
  step?: string;
}

export interface LlmChatRequest {
  /** The alias the caller asked for (planner, coder...). */
  alias: string;
  /** The provider's own model name (the part after "provider/"). */
  model: string;
  messages: LlmMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  responseFormat?: LlmResponseFormat;
  tools?: LlmTool[];
  toolChoice?: LlmToolChoice;
  /** false: at most one tool call per answer (OpenAI parallel_tool_calls, Anthropic disable_parallel_tool_use). */
  parallelToolCalls?: boolean;
  context: LlmCallContext;
}

/** What the caller asked, before the gateway picks the provider and model. */
export type LlmChatBody = Omit<LlmChatRequest, 'alias' | 'model' | 'context'>;

export type LlmFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * Token counts normalised across vendors. inputTokens counts every input token, including the
 * ones read from the prompt cache (cachedInputTokens: OpenAI prompt_tokens_details.cached_tokens,
 * Anthropic cache_read_input_tokens) and the ones written to it (cacheWriteInputTokens: Anthropic
 * cache_creation_input_tokens), as OpenAI's prompt_tokens does.
 */
export interface LlmUsage {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens?: number;
  outputTokens: number;
}

export interface LlmChatResponse {
  /** The vendor's id of the answer (chatcmpl-..., msg_...), when it gave one. */
  id?: string;
  /** Unix seconds, when the vendor said: OpenAI's `created`, else the HTTP `Date` of its answer. */
  created?: number;
  /** The model that answered, as the provider names it. */
  model: string;
  content: string | null;
  toolCalls: LlmToolCall[];
  finishReason: LlmFinishReason;
  usage: LlmUsage;
}

/**
 * Pieces of an answer as it is produced; `end` always comes last and carries the whole answer.
 * A tool call starts with `tool-call-start` (id and name) and its arguments follow in
 * `tool-call-args` pieces. `start` (optional, before any piece) tells what is known before the
 * first token: the vendor's id and the input usage.
 */
export type LlmStreamEvent =
  | { kind: 'start'; id?: string; created?: number; usage?: LlmUsage }
  | { kind: 'text'; text: string }
  | { kind: 'tool-call-start'; index: number; id: string; name: string }
  | { kind: 'tool-call-args'; index: number; arguments: string }
  | { kind: 'end'; response: LlmChatResponse };

/** The events a client sees: everything but start and end. */
export type LlmStreamPiece = Extract<LlmStreamEvent, { kind: 'text' | 'tool-call-start' | 'tool-call-args' }>;

/** Per-call limits on top of the provider's own settings. */
export interface LlmCallLimits {
  /** The call's deadline leaves this long for the answer to start: shorter than the provider's own timeout_ms wins. */
  firstByteTimeoutMs?: number;
}

/** Texts (or token arrays) to embed, in the provider's model. */
export interface LlmEmbedRequest {
  alias: string;
  model: string;
  input: string[] | number[][];
  /** Fewer dimensions, for models that can shorten their vectors. */
  dimensions?: number;
  context: LlmCallContext;
}

export interface LlmEmbedResponse {
  model: string;
  /** One vector per input, in input order. */
  vectors: number[][];
  usage: LlmUsage;
}

export interface LlmProvider {
  /** The provider's name in agency.yaml (llm.providers.<name>). */
  readonly name: string;
  /** Its wire type, also reported as gen_ai.provider.name (openai, anthropic, scripted...). */
  readonly type: string;
  chat(request: LlmChatRequest, signal?: AbortSignal, limits?: LlmCallLimits): Promise<LlmChatResponse>;
  stream(request: LlmChatRequest, signal?: AbortSignal, limits?: LlmCallLimits): AsyncIterable<LlmStreamEvent>;
  /** Present only for providers whose vendor has embeddings (OpenAI and compatible servers). */
  readonly embed?: (request: LlmEmbedRequest, signal?: AbortSignal, limits?: LlmCallLimits) => Promise<LlmEmbedResponse>;
  /** Present only for vendors that count a prompt's tokens themselves (Anthropic's count_tokens). */
  readonly countTokens?: (request: LlmChatRequest, signal?: AbortSignal) => Promise<number>;
}

/**
 * What the gateway may do after a failure: `retry` the same target (after a backoff), try the
 * next target of the alias (`fallback`), or give up (`final`: the request itself is at fault).
 */
export type FailureDisposition = 'retry' | 'fallback' | 'final';

export interface ProviderErrorOptions {
  /** The vendor's (or the local limiter's) retry-after, in ms. */
  retryAfterMs?: number;
  /** Overrides the disposition implied by `retryable` (true: retry, false: final). */
  disposition?: FailureDisposition;
}

/**
 * A provider could not answer. `status` is the HTTP status the gateway answers with; `retryable`
 * tells whether another attempt (or the next model of the alias's fallback list) may succeed.
 */
export class ProviderError extends Error {
  readonly retryAfterMs?: number;
  readonly disposition: FailureDisposition;

  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly retryable: boolean,
    options: ProviderErrorOptions = {},
  ) {
    super(message);
    this.name = 'ProviderError';
    this.retryAfterMs = options.retryAfterMs;
    this.disposition = options.disposition ?? (retryable ? 'retry' : 'final');
  }
}
