import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ChatOutcome, CompletionMeta } from '../../chat/chat.service.js';
import type { LlmStreamPiece, LlmToolCall, LlmUsage } from '../../providers/llm-provider.js';

// The openai package's own types: the gateway's answers are exactly what its clients parse.

function usageOf(u: LlmUsage): CompletionUsage {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

/** The vendor's id when it gave one (passed through, as other gateways do), else the gateway's. */
export function openAiId(meta: CompletionMeta): string {
  return meta.upstreamId ?? `chatcmpl-${meta.localId}`;
}

function toolCallOf(c: LlmToolCall) {
  return { id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } };
}

export function toCompletion(o: ChatOutcome): ChatCompletion {
  const r = o.response;
  return {
    id: openAiId(o),
    object: 'chat.completion',
    created: o.created,
    model: o.ref,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: r.content, refusal: null, ...(r.toolCalls.length ? { tool_calls: r.toolCalls.map(toolCallOf) } : {}) },
        logprobs: null,
        finish_reason: r.finishReason,
      },
    ],
    usage: usageOf(r.usage),
  };
}

type Delta = ChatCompletionChunk.Choice.Delta;

function chunk(meta: CompletionMeta, delta: Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk {
  return {
    id: openAiId(meta),
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.ref,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

/** The first chunk announces the role, as OpenAI's does. */
export function roleChunk(meta: CompletionMeta): ChatCompletionChunk {
  return chunk(meta, { role: 'assistant', content: '', refusal: null });
}

export function pieceChunk(meta: CompletionMeta, event: LlmStreamPiece): ChatCompletionChunk {
  if (event.kind === 'text') return chunk(meta, { content: event.text });
  // As OpenAI streams them: id, type and name (with empty arguments) first, then argument pieces.
  if (event.kind === 'tool-call-start')
    return chunk(meta, { tool_calls: [{ index: event.index, id: event.id, type: 'function', function: { name: event.name, arguments: '' } }] });
  return chunk(meta, { tool_calls: [{ index: event.index, function: { arguments: event.arguments } }] });
}

/**
 * The server-sent event of each text piece of one answer, written out: only the text differs from
 * piece to piece, and building a chunk object per piece and stringifying it cost the gateway about
 * 20 times more (a dozen pieces per short answer). The same bytes as
 * `data: ${JSON.stringify(pieceChunk(meta, piece))}\n\n` (spec).
 */
export function textPieceEvents(meta: CompletionMeta): (text: string) => string {
  const head =
    `data: {"id":${JSON.stringify(openAiId(meta))},"object":"chat.completion.chunk","created":${JSON.stringify(meta.created)},` +
    `"model":${JSON.stringify(meta.ref)},"choices":[{"index":0,"delta":{"content":`;
  const tail = '},"logprobs":null,"finish_reason":null}]}\n\n';
  return (text) => head + JSON.stringify(text) + tail;
}

export function finishChunk(o: ChatOutcome): ChatCompletionChunk {
  return chunk(o, {}, o.response.finishReason);
}

/** Sent after the finish chunk when stream_options.include_usage is true: no choices, only usage. */
export function usageChunk(o: ChatOutcome): ChatCompletionChunk {
  return { id: openAiId(o), object: 'chat.completion.chunk', created: o.created, model: o.ref, choices: [], usage: usageOf(o.response.usage) };
}
