import OpenAI, { type APIError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { currentMessageContext, injectTraceContext, SpanKind, withSpan } from '@agency/telemetry';

/** Headers that tag a call with the FR and job it serves; the gateway accounts cost by them. */
export const AGENCY_CALL_HEADERS = {
  frId: 'x-agency-fr-id',
  jobId: 'x-agency-job-id',
  sagaId: 'x-agency-saga-id',
  step: 'x-agency-step',
  frBudgetUsd: 'x-agency-fr-budget-usd',
} as const;

export type ChatMessage = ChatCompletionMessageParam;

export interface ChatRequest {
  /** A model alias the gateway resolves (planner, coder, reviewer...). */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** Ask for a JSON object (response_format json_object). */
  json?: boolean;
}

export interface ChatResult {
  content: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/** A function the model may call (OpenAI function calling). */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** One function call the model asked for; `arguments` is the JSON text the model wrote. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatToolsRequest extends Omit<ChatRequest, 'json'> {
  tools: ToolDefinition[];
  /** `auto` (default): the model may answer in text; `required`: it must call a tool. */
  toolChoice?: 'auto' | 'required' | 'none';
}

export interface ChatToolsResult extends ChatResult {
  toolCalls: ToolCall[];
  /** `tool_calls`, `stop`, `length`... as the provider said. */
  finishReason: string;
  /** The assistant turn as it goes back into the conversation (content and tool calls). */
  message: ChatMessage;
}

export interface CallContext {
  frId?: string;
  jobId?: string;
  sagaId?: string;
  step?: string;
  /** The FR's budget in USD (its tier's); the gateway refuses calls once the FR has spent it. */
  frBudgetUsd?: number;
}

export interface LlmClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  maxRetries?: number;
}

/** The model answered, but not with what was asked for (not JSON, or not the expected shape). */
export class LlmAnswerError extends Error {
  constructor(
    message: string,
    readonly answer: string,
  ) {
    super(message);
    this.name = 'LlmAnswerError';
  }
}

/** The gateway refused the call because a budget (the FR's or the key's) is used up. */
export function isBudgetExhausted(error: unknown): boolean {
  // By shape, not instanceof: the SDK may be loaded twice (ESM and CJS builds) in one process.
  const e = error as Partial<APIError> | null;
  return typeof e === 'object' && e !== null && e.status === 429 && e.code === 'budget_exceeded';
}

/**
 * The agency's one way to call a model: the official `openai` package pointed at the LLM gateway,
 * with FR, job and trace context on every request. Agents never talk to a vendor directly.
 */
export class LlmClient {
  private readonly openai: OpenAI;

  constructor(options: LlmClientOptions) {
    this.openai = new OpenAI({
      baseURL: options.baseUrl.replace(/\/$/, ''),
      apiKey: options.apiKey,
      timeout: options.timeoutMs ?? 120_000,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async chat(request: ChatRequest, ctx: CallContext = currentMessageContext()): Promise<ChatResult> {
    return withSpan(`chat ${request.model}`, { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': request.model } }, async (span) => {
      const headers = callHeaders(ctx);
      const completion = await this.openai.chat.completions.create(
        {
          model: request.model,
          messages: request.messages,
          ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.json ? { response_format: { type: 'json_object' as const } } : {}),
        },
        { headers },
      );
      const content = completion.choices[0]?.message?.content ?? '';
      const result: ChatResult = {
        content,
        model: completion.model,
        inputTokens: completion.usage?.prompt_tokens ?? 0,
        outputTokens: completion.usage?.completion_tokens ?? 0,
      };
      span.setAttributes({ 'gen_ai.response.model': result.model, 'gen_ai.usage.input_tokens': result.inputTokens, 'gen_ai.usage.output_tokens': result.outputTokens });
      return result;
    });
  }

  /**
   * One turn of a tool loop: the conversation and the tools in, the model's text and function
   * calls out (OpenAI's `tools` / `tool_calls` wire format, through the gateway). The caller runs
   * the calls and sends their results back as `tool` messages in the next turn.
   */
  async chatTools(request: ChatToolsRequest, ctx: CallContext = currentMessageContext()): Promise<ChatToolsResult> {
    return withSpan(`chat ${request.model}`, { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': request.model } }, async (span) => {
      const completion = await this.openai.chat.completions.create(
        {
          model: request.model,
          messages: request.messages,
          tools: request.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })),
          ...(request.toolChoice ? { tool_choice: request.toolChoice } : {}),
          ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        },
        { headers: callHeaders(ctx) },
      );
      const choice = completion.choices[0];
      const content = choice?.message?.content ?? '';
      const toolCalls: ToolCall[] = (choice?.message?.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : []));
      const message: ChatMessage = {
        role: 'assistant',
        content: content || null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) } : {}),
      };
      const result: ChatToolsResult = {
        content,
        model: completion.model,
        inputTokens: completion.usage?.prompt_tokens ?? 0,
        outputTokens: completion.usage?.completion_tokens ?? 0,
        toolCalls,
        finishReason: choice?.finish_reason ?? 'stop',
        message,
      };
      span.setAttributes({
        'gen_ai.response.model': result.model,
        'gen_ai.usage.input_tokens': result.inputTokens,
        'gen_ai.usage.output_tokens': result.outputTokens,
        'gen_ai.response.finish_reasons': [result.finishReason],
      });
      return result;
    });
  }

  /**
   * Asks for JSON and checks it with `parse` (which throws or returns the typed value). An answer
   * that is not valid JSON, or not the right shape, gets one repair attempt that shows the model
   * its answer and the error; a second failure throws LlmAnswerError naming both problems.
   */
  async chatJson<T>(request: ChatRequest, parse: (value: unknown) => T, ctx?: CallContext): Promise<{ value: T; result: ChatResult; repaired: boolean }> {
    const first = await this.chat({ ...request, json: true }, ctx);
    const firstError = tryParse(first.content, parse);
    if (firstError.ok) return { value: firstError.value, result: first, repaired: false };
    const repair = await this.chat(
      {
        ...request,
        json: true,
        messages: [
          ...request.messages,
          { role: 'assistant', content: first.content },
          { role: 'user', content: `Your answer could not be used: ${firstError.error}. Answer again with only the corrected JSON object.` },
        ],
      },
      ctx,
    );
    const second = tryParse(repair.content, parse);
    if (second.ok) return { value: second.value, result: repair, repaired: true };
    throw new LlmAnswerError(`model ${request.model} gave no usable JSON after one repair: first ${firstError.error}; then ${second.error}`, repair.content);
  }
}

/** FR, job, saga and step headers plus the W3C trace context of the current span. */
function callHeaders(ctx: CallContext): Record<string, string> {
  const headers: Record<string, string> = {};
  if (ctx.frId) headers[AGENCY_CALL_HEADERS.frId] = ctx.frId;
  if (ctx.jobId) headers[AGENCY_CALL_HEADERS.jobId] = ctx.jobId;
  if (ctx.sagaId) headers[AGENCY_CALL_HEADERS.sagaId] = ctx.sagaId;
  if (ctx.step) headers[AGENCY_CALL_HEADERS.step] = ctx.step;
  if (ctx.frBudgetUsd !== undefined) headers[AGENCY_CALL_HEADERS.frBudgetUsd] = String(ctx.frBudgetUsd);
  injectTraceContext((k, v) => (headers[k] = v));
  return headers;
}

function tryParse<T>(text: string, parse: (value: unknown) => T): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(stripFence(text));
  } catch (e) {
    return { ok: false, error: `not valid JSON (${(e as Error).message})` };
  }
  try {
    return { ok: true, value: parse(json) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Models often wrap JSON in a ```json fence even when told not to. */
function stripFence(text: string): string {
  const m = text.trim().match(/^```(?:json)?\s*\n([\s\S]*?)\n```$/);
  return m ? m[1]! : text;
}
