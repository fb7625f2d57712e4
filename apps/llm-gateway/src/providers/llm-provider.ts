/**
 * The gateway's neutral chat format: what the HTTP layer turns an OpenAI request into, and what
 * every provider (scripted, OpenAI, Anthropic, OpenAI-compatible) takes and returns. Vendor
 * formats stay inside their provider.
 */

export type LlmRole = 'system' | 'user' | 'assistant' | 'tool';

export interface LlmToolCall {
  id: string;
  name: string;
  /** JSON text, exactly as the model produced it. */
  arguments: string;
}

export type LlmMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: LlmToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

export interface LlmTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters?: Record<string, unknown>;
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
  context: LlmCallContext;
}

/** What the caller asked, before the gateway picks the provider and model. */
export type LlmChatBody = Omit<LlmChatRequest, 'alias' | 'model' | 'context'>;

export type LlmFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** Token counts normalised across vendors: inputTokens includes cachedInputTokens. */
export interface LlmUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

export interface LlmChatResponse {
  /** The model that answered, as the provider names it. */
  model: string;
  content: string | null;
  toolCalls: LlmToolCall[];
  finishReason: LlmFinishReason;
  usage: LlmUsage;
}

/** Pieces of an answer as it is produced; `end` always comes last and carries the whole answer. */
export type LlmStreamEvent =
  | { kind: 'text'; text: string }
  | { kind: 'tool-call'; index: number; call: LlmToolCall }
  | { kind: 'end'; response: LlmChatResponse };

export interface LlmProvider {
  /** The provider's name in agency.yaml (llm.providers.<name>). */
  readonly name: string;
  /** Its type, also reported as gen_ai.provider.name. */
  readonly type: string;
  chat(request: LlmChatRequest, signal?: AbortSignal): Promise<LlmChatResponse>;
  stream(request: LlmChatRequest, signal?: AbortSignal): AsyncIterable<LlmStreamEvent>;
}

/**
 * A provider could not answer. `status` is the HTTP status the gateway answers with; `retryable`
 * tells whether another attempt (or the next model of the alias's fallback list) may succeed.
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
