import type { ChatMessage } from '@agency/llm-client';

/** Results and arguments shorter than this are left as they are: condensing them saves nothing. */
const SMALL = 600;
/** Tool results of the last turns stay whole: the model is working with them. */
export const KEEP_RECENT_RESULTS = 6;
/** Argument fields that carry file content, condensed in old calls (the file holds the content now). */
const BULKY_ARGS = ['content', 'patch', 'new_text', 'old_text'];

/** Characters of a conversation as the model reads them (content and tool call arguments). */
export function conversationChars(messages: readonly ChatMessage[]): number {
  let n = 0;
  for (const m of messages) {
    if (typeof m.content === 'string') n += m.content.length;
    else if (Array.isArray(m.content)) n += JSON.stringify(m.content).length;
    if (m.role === 'assistant' && m.tool_calls)
      for (const c of m.tool_calls) if (c.type === 'function') n += c.function.arguments.length + c.function.name.length;
  }
  return n;
}

/** The first line (what the result was: "exit code 1, 2.1 s", "src/a.js (120 lines)") and a note of what was dropped. */
function condenseResult(text: string): string {
  const nl = text.indexOf('\n');
  const head = (nl >= 0 ? text.slice(0, nl) : text).slice(0, 200);
  const rest = text.length - head.length - (nl >= 0 && nl <= 200 ? 1 : 0);
  return `${head}\n[condensed: ${rest} characters of this earlier result dropped to keep the conversation short; call the tool again if you need them]`;
}

function condenseArguments(raw: string): string {
  let args: unknown;
  try {
    args = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) return raw;
  const out: Record<string, unknown> = { ...(args as Record<string, unknown>) };
  for (const key of BULKY_ARGS) {
    const v = out[key];
    if (typeof v === 'string' && v.length > SMALL) out[key] = `[condensed: ${v.length} characters sent earlier; the repository holds the result]`;
  }
  return JSON.stringify(out);
}

/**
 * Shortens the old part of a tool-loop conversation once it passes a size: tool results before
 * the last KEEP_RECENT_RESULTS keep only their first line, and the file content in old write,
 * edit and patch calls is replaced by a note. The system prompt and the task (the first messages)
 * are never touched, and everything is condensed in one go, so the prompt's prefix changes once
 * per crossing and provider prompt caches keep hitting between crossings.
 */
export function condenseConversation(messages: readonly ChatMessage[], keepRecent = KEEP_RECENT_RESULTS): { messages: ChatMessage[]; savedChars: number } {
  const before = conversationChars(messages);
  const toolIndexes = messages.flatMap((m, i) => (m.role === 'tool' ? [i] : []));
  const cutoff = toolIndexes.length > keepRecent ? toolIndexes[toolIndexes.length - keepRecent]! : -1;
  if (cutoff < 0) return { messages: [...messages], savedChars: 0 };
  const out = messages.map((m, i): ChatMessage => {
    if (i >= cutoff || i < 2) return m;
    if (m.role === 'tool' && typeof m.content === 'string' && m.content.length > SMALL && !m.content.includes('\n[condensed: '))
      return { ...m, content: condenseResult(m.content) };
    if (m.role === 'assistant' && m.tool_calls?.some((c) => c.type === 'function' && c.function.arguments.length > SMALL)) {
      return {
        ...m,
        tool_calls: m.tool_calls.map((c) =>
          c.type === 'function' ? { ...c, function: { ...c.function, arguments: condenseArguments(c.function.arguments) } } : c,
        ),
      };
    }
    return m;
  });
  return { messages: out, savedChars: before - conversationChars(out) };
}
