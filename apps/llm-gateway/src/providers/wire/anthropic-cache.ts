import type { LlmCacheControl, LlmChatRequest } from '../llm-provider.js';

// Anthropic's content blocks as the gateway sends them, with their optional cache breakpoint.
type Marked = { cache_control?: LlmCacheControl };
export type TextBlock = { type: 'text'; text: string } & Marked;
export type Block =
  | TextBlock
  | ({ type: 'tool_use'; id: string; name: string; input: Record<string, unknown> } & Marked)
  | ({ type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean } & Marked);
export type AnthropicMessage = { role: 'user' | 'assistant'; content: string | Block[] };
type ToolDefinition = { name: string } & Marked & Record<string, unknown>;

const EPHEMERAL: LlmCacheControl = { type: 'ephemeral' };

/**
 * Anthropic caches nothing shorter than this many tokens (a shorter prefix is processed without
 * caching, and its breakpoint is wasted): 2048 for the Haiku 3 models, 4096 for Opus 4.5 and
 * Haiku 4.5, 1024 for the others (docs.anthropic.com, "Prompt caching", minimum cacheable length).
 */
export function minCacheTokens(model: string): number {
  if (/claude-(?:opus-4-5|haiku-4-5)|claude-(?:opus|haiku)-4\.5/.test(model)) return 4096;
  if (/claude-3(?:-5)?-haiku/.test(model)) return 2048;
  return 1024;
}

/** A size estimate (about 4 characters a token) of what a part of the prompt adds to it. */
function tokens(value: unknown): number {
  return Math.ceil((typeof value === 'string' ? value.length : JSON.stringify(value).length) / 4);
}

/** True when the caller (an Anthropic client) placed breakpoints itself: they are sent as they came. */
export function hasClientBreakpoints(call: LlmChatRequest): boolean {
  if (call.tools?.some((t) => t.cacheControl)) return true;
  return call.messages.some((m) => m.cacheControl || (m.role === 'assistant' && m.toolCalls?.some((c) => c.cacheControl)));
}

function blocksOf(message: AnthropicMessage): Block[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

/** Anthropic refuses cache_control on an empty text block, and a message without blocks has none to carry it. */
function markable(message: AnthropicMessage): boolean {
  const last = blocksOf(message).at(-1);
  return last !== undefined && !(last.type === 'text' && last.text === '');
}

/** The message with a breakpoint on its last block (a plain string becomes one text block). */
function markLast(message: AnthropicMessage): AnthropicMessage {
  const blocks = blocksOf(message);
  return { ...message, content: [...blocks.slice(0, -1), { ...blocks.at(-1)!, cache_control: EPHEMERAL }] };
}

/**
 * Sets the gateway's prompt-cache breakpoints on an Anthropic request body that has none, within
 * Anthropic's four: the last tool (the tools lead the prompt), the system prompt, the last message
 * (the growing end of the conversation, read back by the next turn; the last one that can carry it) and the second-to-last user
 * turn (the previous turn's end, so this turn reads it from the cache even when the turn added
 * more blocks than Anthropic looks back over). A breakpoint whose prefix is shorter than the
 * model's minimum is left out: it would cache nothing.
 */
export function placeCacheBreakpoints(body: Record<string, unknown>, model: string): void {
  const min = minCacheTokens(model);
  let prefix = 0;
  const tools = body.tools as ToolDefinition[] | undefined;
  if (tools?.length) {
    prefix += tokens(tools);
    if (prefix >= min) tools[tools.length - 1] = { ...tools.at(-1)!, cache_control: EPHEMERAL };
  }
  const system = body.system as string | TextBlock[] | undefined;
  if (system) {
    prefix += tokens(system);
    if (prefix >= min)
      body.system =
        typeof system === 'string'
          ? [{ type: 'text', text: system, cache_control: EPHEMERAL }]
          : [...system.slice(0, -1), { ...system.at(-1)!, cache_control: EPHEMERAL }];
  }
  const messages = body.messages as AnthropicMessage[];
  const ends = messages.map((m) => (prefix += tokens(m.content)));
  const end = messages.findLastIndex(markable);
  const users = messages.flatMap((m, i) => (m.role === 'user' && i <= end && markable(m) ? [i] : []));
  const marked = new Set([users.at(-2), end].filter((i): i is number => i !== undefined && i >= 0 && ends[i]! >= min));
  if (marked.size === 0) return;
  body.messages = messages.map((m, i) => (marked.has(i) ? markLast(m) : m));
}
