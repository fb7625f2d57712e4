import type { LlmMessage, LlmToolCall } from './llm-provider.js';

/**
 * Token counts for providers that have no tokenizer (the scripted one). The estimate follows
 * OpenAI's published rule of thumb: about 4 characters of English text per token, plus a few
 * tokens of framing per message:
 *   text        -> ceil(characters / 4)
 *   input       -> sum over messages of (3 + text of content, tool names and arguments) + 3
 *   output      -> text of content and of every tool call's name and arguments
 * It is deterministic, so scripted runs always cost the same.
 */
export const CHARS_PER_TOKEN = 4;
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_REPLY_PRIMING = 3;

export function textTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

function toolCallTokens(calls: readonly LlmToolCall[] | undefined): number {
  return (calls ?? []).reduce((sum, c) => sum + textTokens(c.name) + textTokens(c.arguments), 0);
}

export function estimateInputTokens(messages: readonly LlmMessage[]): number {
  let total = TOKENS_REPLY_PRIMING;
  for (const m of messages) {
    total += TOKENS_PER_MESSAGE + textTokens(m.content ?? '');
    if (m.role === 'assistant') total += toolCallTokens(m.toolCalls);
  }
  return total;
}

export function estimateOutputTokens(content: string | null, toolCalls: readonly LlmToolCall[]): number {
  return textTokens(content ?? '') + toolCallTokens(toolCalls);
}
