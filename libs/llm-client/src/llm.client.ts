import OpenAI, { type APIError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { currentMessageContext, injectTraceContext, SpanKind, withSpan } from '@agency/telemetry';
import { readJsonAnswer } from './json-answer.js';
import { StreamWatchdog } from './stream-watchdog.js';

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
  /** Of inputTokens, those the provider read from its prompt cache (billed at the cached price). */
  cachedInputTokens?: number;
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
  /** Aborts the call at once (a cancelled job); never sent to the gateway. */
  signal?: AbortSignal;
}

export interface LlmClientOptions {
  baseUrl: string;
  apiKey: string;
  /** The gateway must start answering within this (headers and first chunk). Default 120 s. */
  firstByteTimeoutMs?: number;
  /** Once an answer streams, silence longer than this gives the try up. A long answer that keeps coming is never cut. Default 60 s. */
  idleTimeoutMs?: number;
  /** Tries after the first, for failures before the answer starts and for stalls. Default 2. */
  maxRetries?: number;
}

/** The model answered, but not with what was asked for (not JSON, or not the expected shape), after every repair turn. */
export class LlmAnswerError extends Error {
  constructor(
    message: string,
    readonly answer: string,
  ) {
    super(message);
    this.name = 'LlmAnswerError';
  }
}

/** The call was given up: no first byte in time, or the answer stalled; worth another try later. */
export class LlmTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LlmTimeoutError';
  }
}

/** The caller's signal aborted the call (a cancelled job): nothing more is spent on it. */
export class LlmCancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LlmCancelledError';
  }
}

/** The gateway refused the call because a budget (the FR's or the key's) is used up. */
export function isBudgetExhausted(error: unknown): boolean {
  // By shape, not instanceof: the SDK may be loaded twice (ESM and CJS builds) in one process.
  const e = error as Partial<APIError> | null;
  return typeof e === 'object' && e !== null && e.status === 429 && e.code === 'budget_exceeded';
}

/** What chatJson gave back: the checked value, the last call, and how it was obtained. */
export interface ChatJsonResult<T> {
  value: T;
  result: ChatResult;
  /** Repair turns it took (0: the first answer was usable). */
  repairs: number;
  repaired: boolean;
  /** Why each refused answer could not be used (one per repair turn), for the caller's log. */
  problems?: string[];
  /** What had to be done to read the answer (taken out of prose, malformed JSON mended). */
  fixes: string[];
}

export interface ChatJsonOptions {
  /** Turns that show the model its unusable answer and the problem, before giving up. Default 2. */
  repairTurns?: number;
  /** The expected JSON's shape, repeated in a repair turn (a model that lost the format sees it again). */
  shape?: string;
}

type StreamParams = ChatCompletionCreateParamsStreaming;

/**
 * The agency's one way to call a model: the official `openai` package pointed at the LLM gateway,
 * with FR, job and trace context on every request. Agents never talk to a vendor directly.
 * Every call streams, so a first-byte limit and an idle limit apply instead of a whole-answer
 * timeout (a long answer is never cut), and the caller's abort signal ends it at once.
 */
export class LlmClient {
  private readonly openai: OpenAI;
  private readonly firstByteMs: number;
  private readonly idleMs: number;
  private readonly maxRetries: number;

  constructor(options: LlmClientOptions) {
    this.firstByteMs = options.firstByteTimeoutMs ?? 120_000;
    this.idleMs = options.idleTimeoutMs ?? 60_000;
    this.maxRetries = options.maxRetries ?? 2;
    this.openai = new OpenAI({
      baseURL: options.baseUrl.replace(/\/$/, ''),
      apiKey: options.apiKey,
      // Bounds the wait for the response headers; the watchdog bounds the rest.
      timeout: this.firstByteMs,
      maxRetries: this.maxRetries,
    });
  }

  async chat(request: ChatRequest, ctx: CallContext = currentMessageContext()): Promise<ChatResult> {
    return withSpan(
      `chat ${request.model}`,
      { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': request.model } },
      async (span) => {
        const completion = await this.complete(
          {
            ...baseParams(request),
            ...(request.json ? { response_format: { type: 'json_object' as const } } : {}),
          },
          ctx,
        );
        const result = resultOf(completion);
        span.setAttributes(usageAttributes(result));
        return result;
      },
    );
  }

  /**
   * One turn of a tool loop: the conversation and the tools in, the model's text and function
   * calls out (OpenAI's `tools` / `tool_calls` wire format, through the gateway). The caller runs
   * the calls and sends their results back as `tool` messages in the next turn.
   */
  async chatTools(request: ChatToolsRequest, ctx: CallContext = currentMessageContext()): Promise<ChatToolsResult> {
    return withSpan(
      `chat ${request.model}`,
      { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': request.model } },
      async (span) => {
        const completion = await this.complete(
          {
            ...baseParams(request),
            tools: request.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })),
            ...(request.toolChoice ? { tool_choice: request.toolChoice } : {}),
          },
          ctx,
        );
        const choice = completion.choices[0];
        const content = choice?.message?.content ?? '';
        const toolCalls: ToolCall[] = (choice?.message?.tool_calls ?? []).flatMap((c) =>
          c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
        );
        const message: ChatMessage = {
          role: 'assistant',
          content: content || null,
          ...(toolCalls.length > 0
            ? { tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
            : {}),
        };
        const result: ChatToolsResult = { ...resultOf(completion), toolCalls, finishReason: choice?.finish_reason ?? 'stop', message };
        span.setAttributes({ ...usageAttributes(result), 'gen_ai.response.finish_reasons': [result.finishReason] });
        return result;
      },
    );
  }

  /**
   * Asks for JSON and checks it with `parse` (which throws or returns the typed value). The answer
   * is read as real models give it (in prose, in a fence, sloppy JSON mended); one that still
   * cannot be used gets repair turns that show the model its answer and the precise problem. When
   * none helps, LlmAnswerError names every problem.
   */
  async chatJson<T>(request: ChatRequest, parse: (value: unknown) => T, ctx?: CallContext, options: ChatJsonOptions = {}): Promise<ChatJsonResult<T>> {
    const turns = options.repairTurns ?? 2;
    const messages = [...request.messages];
    const problems: string[] = [];
    for (let repairs = 0; ; repairs += 1) {
      const result = await this.chat({ ...request, messages, json: true }, ctx);
      const read = readJsonAnswer(result.content);
      let problem: string;
      if (read.ok) {
        try {
          return { value: parse(read.value), result, repairs, repaired: repairs > 0, problems: [...problems], fixes: read.fixes };
        } catch (e) {
          problem = (e as Error).message;
        }
      } else {
        problem = read.problem;
      }
      problems.push(problem);
      if (repairs >= turns) {
        const tried = problems.map((p, i) => `${i === 0 ? 'first answer' : `repair ${i}`}: ${p}`).join('; ');
        throw new LlmAnswerError(`model ${request.model} gave no usable JSON after ${turns} repair turn(s): ${tried}`, result.content);
      }
      messages.push(
        { role: 'assistant', content: result.content },
        {
          role: 'user',
          content: `Your answer could not be used: ${problem}. Answer again with only the corrected JSON object${options.shape ? `, shaped like ${options.shape}` : ''}, nothing before or after it.`,
        },
      );
    }
  }

  /** One streamed completion, assembled; retried on stalls, never after the caller cancelled. */
  private async complete(params: Omit<StreamParams, 'stream'>, ctx: CallContext): Promise<ChatCompletion> {
    const headers = callHeaders(ctx);
    for (let attempt = 0; ; attempt += 1) {
      const watchdog = new StreamWatchdog(this.firstByteMs, this.idleMs, ctx.signal);
      try {
        const stream = this.openai.chat.completions.stream(
          { ...params, stream: true, stream_options: { include_usage: true } },
          { headers, signal: watchdog.signal },
        );
        stream.on('chunk', () => watchdog.alive());
        return await stream.finalChatCompletion();
      } catch (e) {
        if (watchdog.cause === 'cancelled') throw new LlmCancelledError(`model call to ${params.model} cancelled: ${reasonOf(ctx.signal)}`);
        if (!watchdog.cause) throw e;
        if (attempt >= this.maxRetries) throw new LlmTimeoutError(`model call to ${params.model} given up after ${attempt + 1} tries: ${watchdog.describe()}`);
      } finally {
        watchdog.stop();
      }
    }
  }
}

function baseParams(request: ChatRequest): Omit<StreamParams, 'stream'> {
  return {
    model: request.model,
    messages: request.messages,
    ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
  };
}

function resultOf(completion: ChatCompletion): ChatResult {
  const usage = completion.usage;
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    content: completion.choices[0]?.message?.content ?? '',
    model: completion.model,
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    ...(cached > 0 ? { cachedInputTokens: cached } : {}),
  };
}

function usageAttributes(result: ChatResult): Record<string, string | number> {
  return {
    'gen_ai.response.model': result.model,
    'gen_ai.usage.input_tokens': result.inputTokens,
    'gen_ai.usage.output_tokens': result.outputTokens,
    ...(result.cachedInputTokens ? { 'gen_ai.usage.cache_read_input_tokens': result.cachedInputTokens } : {}),
  };
}

function reasonOf(signal: AbortSignal | undefined): string {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r.message : typeof r === 'string' ? r : 'aborted';
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
