import { isDeepStrictEqual } from 'node:util';
import { isRecord } from '../../common/shape.js';

/** Who made a call, as the x-agency-* headers and the alias said: what conversation replay matches by. */
export interface CallTags {
  alias: string;
  frId?: string;
  step?: string;
}

/** A step header's parts: `code-r2` is family `code`, round 2; `code-r2-a3` also attempt 3. */
export function stepParts(step: string | undefined): { family?: string; round?: number; attempt?: number } {
  if (!step) return {};
  const m = /^(.+?)(?:-r(\d+))?(?:-a(\d+))?$/.exec(step)!;
  return { family: m[1], ...(m[2] ? { round: Number(m[2]) } : {}), ...(m[3] ? { attempt: Number(m[3]) } : {}) };
}

/** A tool call of an assistant turn: its name and parsed arguments. */
interface Call {
  name: string;
  args: unknown;
}

/**
 * A conversation as replay compares it: the shape of its messages (roles, and the kinds of an
 * Anthropic message's blocks) and the tool calls of each assistant turn. Texts, tool results and
 * the system prompt are left out: they carry timings, paths and ids that change from run to run.
 */
export interface ConversationShape {
  /** Assistant turns before this call. */
  turn: number;
  messages: string[];
  calls: Call[][];
}

/** Where a call sits: FR, role (step family, else the alias), round, attempt and turn. */
export interface ConversationKey {
  frId: string;
  role: string;
  round?: number;
  attempt?: number;
  turn: number;
}

function parsed(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The shape of a vendor request body, OpenAI's chat completion or Anthropic's message. */
export function shapeOf(body: unknown): ConversationShape {
  const messages = isRecord(body) && Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  const shape: ConversationShape = { turn: 0, messages: [], calls: [] };
  for (const m of messages) {
    const role = String(m.role);
    const blocks = Array.isArray(m.content) ? m.content.filter(isRecord) : [];
    // Anthropic puts tool results in user messages and tool calls in blocks: name the blocks' kinds.
    const kinds = blocks.map((b) => String(b.type)).filter((t) => t === 'tool_use' || t === 'tool_result');
    shape.messages.push(kinds.length ? `${role}(${kinds.join(',')})` : role === 'developer' ? 'system' : role);
    if (role !== 'assistant') continue;
    shape.turn += 1;
    const openAi = Array.isArray(m.tool_calls)
      ? m.tool_calls
          .filter(isRecord)
          .map((c) => (isRecord(c.function) ? { name: String(c.function.name), args: parsed(c.function.arguments) } : { name: '?', args: null }))
      : [];
    const anthropic = blocks.filter((b) => b.type === 'tool_use').map((b) => ({ name: String(b.name), args: b.input ?? {} }));
    shape.calls.push([...openAi, ...anthropic]);
  }
  return shape;
}

export function keyOf(tags: CallTags | undefined, shape: ConversationShape): ConversationKey {
  const step = stepParts(tags?.step);
  return {
    frId: tags?.frId ?? '',
    role: step.family ?? tags?.alias ?? '',
    ...(step.round !== undefined ? { round: step.round } : {}),
    ...(step.attempt !== undefined ? { attempt: step.attempt } : {}),
    turn: shape.turn,
  };
}

export function keyText(k: ConversationKey): string {
  return `${k.frId}|${k.role}|${k.round ?? ''}|${k.attempt ?? ''}|${k.turn}`;
}

/** "FR-7 code round 2 turn 3", for messages. */
export function describeKey(k: Partial<ConversationKey>): string {
  const parts = [k.frId || '(no FR)', k.role];
  if (k.round !== undefined) parts.push(`round ${k.round}`);
  if (k.attempt !== undefined) parts.push(`attempt ${k.attempt}`);
  if (k.turn !== undefined) parts.push(`turn ${k.turn}`);
  return parts.join(' ');
}

const callText = (c: Call) => `${c.name}(${JSON.stringify(c.args)})`;

/** The first way the replayed conversation differs from the recorded one, or undefined when they match. */
export function shapeDifference(recorded: ConversationShape, replayed: ConversationShape): string | undefined {
  for (let t = 0; t < Math.max(recorded.calls.length, replayed.calls.length); t += 1) {
    const a = recorded.calls[t] ?? [];
    const b = replayed.calls[t] ?? [];
    if (!isDeepStrictEqual(a, b)) {
      return `at turn ${t} the recording called ${a.map(callText).join(', ') || 'no tool'}, this request has ${b.map(callText).join(', ') || 'no tool call'}`;
    }
  }
  const i = recorded.messages.findIndex((m, n) => m !== replayed.messages[n]);
  if (i >= 0 || recorded.messages.length !== replayed.messages.length) {
    const at = i >= 0 ? i : recorded.messages.length;
    return `message ${at} is ${recorded.messages[at] ?? 'absent'} in the recording and ${replayed.messages[at] ?? 'absent'} here (recorded ${recorded.messages.length} messages, this request ${replayed.messages.length})`;
  }
  return undefined;
}
