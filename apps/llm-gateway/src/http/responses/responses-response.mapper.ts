import type {
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import type { ChatOutcome, CompletionMeta } from '../../chat/chat.service.js';
import type { LlmFinishReason, LlmMessage, LlmStreamPiece, LlmToolCall, LlmUsage } from '../../providers/llm-provider.js';
import type { ApiError } from '../api-error.js';
import type { SseWriter } from '../sse.writer.js';
import type { ResponsesEcho } from './responses-request.parser.js';

// The openai package's own types: the gateway's answers are exactly what its clients parse.

/** The Response object as sent: the SDK adds output_text itself. */
export type ResponseBody = Omit<Response, 'output_text'>;

export function responseId(meta: Pick<CompletionMeta, 'localId'>): string {
  return `resp_${meta.localId}`;
}

const messageId = (localId: string, n: number) => (n === 0 ? `msg_${localId}` : `msg_${localId}_${n}`);
const callItemId = (localId: string, n: number) => `fc_${localId}_${n}`;

function usageOf(u: LlmUsage): ResponseUsage {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens, cache_write_tokens: u.cacheWriteInputTokens ?? 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

function messageItem(id: string, text: string, status: ResponseOutputMessage['status']): ResponseOutputMessage {
  return { id, type: 'message', role: 'assistant', status, content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
}

function callItem(id: string, call: LlmToolCall, status: NonNullable<ResponseFunctionToolCall['status']>): ResponseFunctionToolCall {
  return { id, type: 'function_call', status, call_id: call.id, name: call.name, arguments: call.arguments };
}

function statusOf(finish: LlmFinishReason | undefined): Pick<ResponseBody, 'status' | 'incomplete_details'> {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: finish ? 'completed' : 'in_progress', incomplete_details: null };
}

/** The Response object around `output`; without an outcome it is the one that is still in progress. */
function envelope(meta: CompletionMeta, echo: ResponsesEcho, output: ResponseOutputItem[], outcome?: ChatOutcome): ResponseBody {
  return {
    id: responseId(meta),
    object: 'response',
    created_at: meta.created,
    ...statusOf(outcome?.response.finishReason),
    error: null,
    instructions: echo.instructions,
    max_output_tokens: echo.maxOutputTokens,
    metadata: echo.metadata,
    model: meta.ref,
    output,
    parallel_tool_calls: echo.parallelToolCalls,
    previous_response_id: echo.previousResponseId,
    reasoning: { effort: null, summary: null },
    temperature: echo.temperature,
    text: echo.text as unknown as ResponseBody['text'],
    tool_choice: echo.toolChoice as ResponseBody['tool_choice'],
    tools: echo.tools as ResponseBody['tools'],
    top_p: echo.topP,
    truncation: 'disabled',
    ...(outcome ? { usage: usageOf(outcome.response.usage) } : {}),
    ...(echo.user ? { user: echo.user } : {}),
  };
}

/** A whole answer as a Response: a message item for its text, a function_call item per tool call. */
export function toResponse(o: ChatOutcome, echo: ResponsesEcho): ResponseBody {
  const r = o.response;
  const output: ResponseOutputItem[] = [];
  if (r.content || r.toolCalls.length === 0) output.push(messageItem(messageId(o.localId, 0), r.content ?? '', 'completed'));
  r.toolCalls.forEach((c, i) => output.push(callItem(callItemId(o.localId, i), c, 'completed')));
  return envelope(o, echo, output, o);
}

/** The output items as the assistant messages item_reference stands for, by id. */
export function storedItems(response: ResponseBody): Map<string, LlmMessage> {
  const items = new Map<string, LlmMessage>();
  for (const item of response.output) {
    if (item.type === 'message')
      items.set(item.id, { role: 'assistant', content: item.content.map((c) => (c.type === 'output_text' ? c.text : c.refusal)).join('') });
    else if (item.type === 'function_call' && item.id)
      items.set(item.id, { role: 'assistant', content: null, toolCalls: [{ id: item.call_id, name: item.name, arguments: item.arguments }] });
  }
  return items;
}

/** The answer as the conversation continues it: one assistant message with its text and tool calls. */
export function answerMessage(response: ResponseBody): LlmMessage {
  const calls: LlmToolCall[] = [];
  let text = '';
  for (const item of response.output) {
    if (item.type === 'message') text += item.content.map((c) => (c.type === 'output_text' ? c.text : c.refusal)).join('');
    else if (item.type === 'function_call') calls.push({ id: item.call_id, name: item.name, arguments: item.arguments });
  }
  return { role: 'assistant', content: text || (calls.length ? null : ''), ...(calls.length ? { toolCalls: calls } : {}) };
}

/** A stream event before its sequence number (Omit distributed over the union). */
type Unsequenced = ResponseStreamEvent extends infer E ? (E extends unknown ? Omit<E, 'sequence_number'> : never) : never;

type Open = { kind: 'text'; index: number; id: string; text: string } | { kind: 'call'; index: number; id: string; call: LlmToolCall };

/**
 * Writes the Responses API's event stream: response.created and response.in_progress, then per
 * output item output_item.added, its deltas (content_part and output_text events for text,
 * function_call_arguments events for a tool call) and output_item.done, then response.completed
 * (or response.incomplete) with the whole Response. A failure after the start is an `error`
 * event (OpenAI's fields, and its nested `error` so the openai SDK raises), never a completion.
 */
export class ResponsesStreamWriter {
  private seq = 0;
  private meta?: CompletionMeta;
  private open?: Open;
  private readonly done: ResponseOutputItem[] = [];
  private messages = 0;
  private readonly callOf = new Map<number, Extract<Open, { kind: 'call' }>>();

  constructor(
    private readonly sse: SseWriter,
    private readonly echo: ResponsesEcho,
  ) {}

  private emit(event: Unsequenced): void {
    this.sse.event(event.type, { ...event, sequence_number: this.seq++ });
  }

  start(meta: CompletionMeta): void {
    this.meta = meta;
    const response = envelope(meta, this.echo, []) as Response;
    this.emit({ type: 'response.created', response });
    this.emit({ type: 'response.in_progress', response });
  }

  piece(event: LlmStreamPiece): void {
    const localId = this.meta!.localId;
    if (event.kind === 'text') {
      if (this.open?.kind !== 'text') {
        this.close();
        const open: Open = { kind: 'text', index: this.done.length, id: messageId(localId, this.messages++), text: '' };
        this.open = open;
        this.emit({ type: 'response.output_item.added', output_index: open.index, item: { ...messageItem(open.id, '', 'in_progress'), content: [] } });
        this.emit({
          type: 'response.content_part.added',
          item_id: open.id,
          output_index: open.index,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
        });
      }
      const open = this.open as Extract<Open, { kind: 'text' }>;
      open.text += event.text;
      this.emit({ type: 'response.output_text.delta', item_id: open.id, output_index: open.index, content_index: 0, delta: event.text, logprobs: [] });
    } else if (event.kind === 'tool-call-start') {
      this.close();
      const open: Open = {
        kind: 'call',
        index: this.done.length,
        id: callItemId(localId, event.index),
        call: { id: event.id, name: event.name, arguments: '' },
      };
      this.open = open;
      this.callOf.set(event.index, open);
      this.emit({ type: 'response.output_item.added', output_index: open.index, item: callItem(open.id, open.call, 'in_progress') });
    } else {
      const open = this.callOf.get(event.index);
      if (!open) return;
      open.call.arguments += event.arguments;
      this.emit({ type: 'response.function_call_arguments.delta', item_id: open.id, output_index: open.index, delta: event.arguments });
    }
  }

  /** Ends the stream with the whole Response; gives it (for the store). */
  finish(o: ChatOutcome): ResponseBody {
    // A model that said nothing still answers with a (empty) message.
    if (this.done.length === 0 && !this.open) this.piece({ kind: 'text', text: '' });
    this.close();
    const response = envelope(this.meta!, this.echo, this.done, o);
    this.emit({ type: response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response: response as Response });
    this.sse.end();
    return response;
  }

  fail(error: ApiError): void {
    const body = error.openAiBody().error;
    this.sse.event('error', { type: 'error', sequence_number: this.seq++, code: body.code, message: body.message, param: body.param, error: body });
    this.sse.end();
  }

  private close(): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    if (open.kind === 'text') {
      const part = { type: 'output_text' as const, text: open.text, annotations: [], logprobs: [] };
      this.emit({ type: 'response.output_text.done', item_id: open.id, output_index: open.index, content_index: 0, text: open.text, logprobs: [] });
      this.emit({ type: 'response.content_part.done', item_id: open.id, output_index: open.index, content_index: 0, part });
      const item = messageItem(open.id, open.text, 'completed');
      this.done.push(item);
      this.emit({ type: 'response.output_item.done', output_index: open.index, item });
    } else {
      const args = open.call.arguments || '{}';
      open.call.arguments = args;
      this.emit({ type: 'response.function_call_arguments.done', item_id: open.id, output_index: open.index, name: open.call.name, arguments: args });
      const item = callItem(open.id, open.call, 'completed');
      this.done.push(item);
      this.emit({ type: 'response.output_item.done', output_index: open.index, item });
    }
  }
}
