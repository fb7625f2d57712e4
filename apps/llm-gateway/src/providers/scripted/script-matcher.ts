import type { LlmMessage } from '../llm-provider.js';
import type { LlmScript, Placeholder, ScriptReply, ScriptRule } from './llm-script.js';

export interface ScriptCall {
  /** The alias the caller asked for. */
  model: string;
  frId?: string;
  jobId?: string;
  sagaId?: string;
  step?: string;
  /** Text of the last user message. */
  lastUserText: string;
}

export interface ScriptAnswer {
  rule: ScriptRule;
  /** 0-based: which of the rule's replies answered. */
  replyIndex: number;
  reply: ScriptReply;
}

/** A reply uses a placeholder the call cannot fill. */
export class PlaceholderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaceholderError';
  }
}

export function lastUserText(messages: readonly LlmMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i]!;
    if (m.role === 'user') return m.content;
  }
  return '';
}

function matches(rule: ScriptRule, call: ScriptCall): boolean {
  const { model, fr, contains } = rule.match;
  return model === call.model && (fr === undefined || fr === call.frId) && (contains === undefined || call.lastUserText.includes(contains));
}

/**
 * Picks the reply for a call: the first rule that matches answers. A rule with several replies
 * gives the n-th matching call its n-th reply and repeats the last; the count is kept per rule
 * and FR, so two FRs running the same script do not advance each other's conversation.
 */
export class ScriptMatcher {
  private readonly counters = new Map<string, number>();

  constructor(private readonly script: LlmScript) {}

  answer(call: ScriptCall): ScriptAnswer | undefined {
    const rule = this.script.rules.find((r) => matches(r, call));
    if (!rule) return undefined;
    const key = `${rule.index}\u0000${call.frId ?? ''}`;
    const n = this.counters.get(key) ?? 0;
    this.counters.set(key, n + 1);
    const replyIndex = Math.min(n, rule.replies.length - 1);
    return { rule, replyIndex, reply: rule.replies[replyIndex]! };
  }
}

function fill(text: string, values: Record<Placeholder, string | undefined>, where: string): string {
  return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_whole, name: string) => {
    const value = values[name as Placeholder];
    if (value === undefined) throw new PlaceholderError(`${where} uses {{${name}}} but the call has no ${name === 'frId' ? 'x-agency-fr-id header' : name}`);
    return value;
  });
}

/** Replaces `{{frId}}` and the other placeholders; tool-call arguments are filled as JSON strings. */
export function renderReply(answer: ScriptAnswer, call: ScriptCall): ScriptReply {
  const values: Record<Placeholder, string | undefined> = { frId: call.frId, jobId: call.jobId, sagaId: call.sagaId, step: call.step, model: call.model };
  const where = `rules[${answer.rule.index}]`;
  return {
    content: answer.reply.content === null ? null : fill(answer.reply.content, values, where),
    toolCalls: answer.reply.toolCalls.map((c) => ({
      name: c.name,
      // Inside JSON text a value must stay a valid JSON string: escape it as one.
      arguments: fill(
        c.arguments,
        Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === undefined ? undefined : JSON.stringify(v).slice(1, -1)])) as Record<
          Placeholder,
          string | undefined
        >,
        where,
      ),
    })),
  };
}
