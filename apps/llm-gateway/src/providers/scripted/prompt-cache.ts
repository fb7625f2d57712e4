import type { LlmChatRequest, LlmMessage } from '../llm-provider.js';
import { CHARS_PER_TOKEN, TOKENS_PER_MESSAGE, textTokens } from '../token-estimate.js';

/** OpenAI caches prompts of at least this many tokens... */
export const CACHE_MIN_TOKENS = 1024;
/** ...and reports cache hits in steps of this many tokens. */
export const CACHE_STEP_TOKENS = 128;

export interface PromptCacheLimits {
  /** Prompts remembered at most (the oldest is forgotten first). */
  entries: number;
  /** Characters of remembered prompts at most, together. */
  chars: number;
  /** A prompt not used for this long is forgotten (OpenAI: 5 to 10 minutes of inactivity). */
  idleMs: number;
}

export const DEFAULT_PROMPT_CACHE_LIMITS: PromptCacheLimits = { entries: 64, chars: 8_000_000, idleMs: 10 * 60_000 };

interface Entry {
  model: string;
  tools: string;
  messages: readonly LlmMessage[];
  chars: number;
  usedAt: number;
}

function sameMessage(a: LlmMessage, b: LlmMessage): boolean {
  if (a.role !== b.role || a.content !== b.content) return false;
  if (a.role === 'tool') return b.role === 'tool' && a.toolCallId === b.toolCallId;
  if (a.role === 'assistant') return JSON.stringify(a.toolCalls ?? []) === JSON.stringify((b as typeof a).toolCalls ?? []);
  return true;
}

/** Tokens of one message as token-estimate.ts counts them (framing, content, an assistant's tool calls). */
function messageTokens(m: LlmMessage): number {
  const calls = m.role === 'assistant' ? (m.toolCalls ?? []).reduce((s, c) => s + textTokens(c.name) + textTokens(c.arguments), 0) : 0;
  return TOKENS_PER_MESSAGE + textTokens(m.content ?? '') + calls;
}

function commonChars(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i += 1;
  return i;
}

/** Estimated tokens two prompts share from their start: whole equal messages, then the equal start of the first that differs. */
export function sharedPrefixTokens(a: readonly LlmMessage[], b: readonly LlmMessage[]): number {
  let tokens = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    if (sameMessage(x, y)) {
      tokens += messageTokens(x);
      continue;
    }
    if (x.role === y.role) tokens += TOKENS_PER_MESSAGE + Math.floor(commonChars(x.content ?? '', y.content ?? '') / CHARS_PER_TOKEN);
    break;
  }
  return tokens;
}

const charsOf = (messages: readonly LlmMessage[]) => messages.reduce((s, m) => s + (m.content?.length ?? 0), 0);

/**
 * A simulation of OpenAI's automatic prompt caching for the scripted provider, so runs with it
 * (evals, the quick start) report cached input tokens as a vendor would: a prompt of at least
 * 1024 tokens that starts like one this provider answered recently for the same model (and the
 * same tools, which come first in a vendor's prompt) reads that shared start from the cache,
 * rounded down to 128-token steps. Tokens are token-estimate.ts's estimate, so the figures are
 * deterministic. Memory is bounded by PromptCacheLimits.
 */
export class PromptCache {
  private entries: Entry[] = [];
  private chars = 0;

  constructor(
    private readonly nowMs: () => number,
    private readonly limits: PromptCacheLimits = DEFAULT_PROMPT_CACHE_LIMITS,
  ) {}

  /** The cached input tokens of this request; then the request is remembered for later ones. */
  read(request: Pick<LlmChatRequest, 'model' | 'tools' | 'messages'>): number {
    const now = this.nowMs();
    this.forget((e) => now - e.usedAt > this.limits.idleMs);
    const tools = JSON.stringify(request.tools ?? []);
    let best: Entry | undefined;
    let prefix = 0;
    for (const e of this.entries) {
      if (e.model !== request.model || e.tools !== tools) continue;
      const shared = sharedPrefixTokens(e.messages, request.messages);
      if (shared > prefix) [best, prefix] = [e, shared];
    }
    const cached = prefix >= CACHE_MIN_TOKENS ? Math.floor(prefix / CACHE_STEP_TOKENS) * CACHE_STEP_TOKENS : 0;
    // A hit keeps the prompt it read from alive, as a vendor's cache does.
    if (best && cached > 0) best.usedAt = now;
    this.remember({ model: request.model, tools, messages: request.messages, chars: charsOf(request.messages) + tools.length, usedAt: now });
    return cached;
  }

  /** How many prompts are remembered (for tests of the bounds). */
  get size(): number {
    return this.entries.length;
  }

  private remember(entry: Entry): void {
    if (entry.chars > this.limits.chars) return;
    this.entries.push(entry);
    this.chars += entry.chars;
    while (this.entries.length > this.limits.entries || this.chars > this.limits.chars) {
      const oldest = this.entries.reduce((a, b) => (b.usedAt < a.usedAt ? b : a));
      this.forget((e) => e === oldest);
    }
  }

  private forget(gone: (e: Entry) => boolean): void {
    const kept = this.entries.filter((e) => !gone(e));
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    this.chars = kept.reduce((s, e) => s + e.chars, 0);
  }
}
