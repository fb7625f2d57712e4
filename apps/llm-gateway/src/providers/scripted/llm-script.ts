import { childPath, isRecord, kindOf, Problems } from '../../common/shape.js';

/** Values a reply may use as `{{name}}`; the call must carry the ones a reply uses. */
export const PLACEHOLDERS = ['frId', 'jobId', 'sagaId', 'step', 'model'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface ScriptToolCall {
  name: string;
  /** JSON text; an object in the script is serialised once at load. */
  arguments: string;
}

export interface ScriptReply {
  content: string | null;
  toolCalls: ScriptToolCall[];
}

export interface ScriptMatch {
  /** The model alias the caller asked for. */
  model: string;
  /** The x-agency-fr-id header, exactly. */
  fr?: string;
  /** Text the last user message must contain (case-sensitive). */
  contains?: string;
}

export interface ScriptRule {
  /** Position in the file, for error messages and reply counters. */
  index: number;
  match: ScriptMatch;
  /** One entry for `reply`, several for `replies`: the n-th matching call gets the n-th. */
  replies: ScriptReply[];
}

export interface LlmScript {
  rules: ScriptRule[];
}

export class ScriptError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'ScriptError';
  }
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

function checkPlaceholders(p: Problems, path: string, text: string): void {
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!))
      p.add(path, `unknown placeholder {{${m[1]}}} (known: ${PLACEHOLDERS.map((x) => `{{${x}}}`).join(', ')})`);
  }
}

function parseToolCall(p: Problems, path: string, raw: unknown): ScriptToolCall | undefined {
  if (!isRecord(raw)) {
    p.add(path, `must be a mapping with name and arguments, got ${kindOf(raw)}`);
    return undefined;
  }
  p.unknownKeys(path, raw, ['name', 'arguments']);
  if (typeof raw.name !== 'string' || raw.name === '') {
    p.add(childPath(path, 'name'), `must be a non-empty string, got ${kindOf(raw.name)}`);
    return undefined;
  }
  const args = raw.arguments ?? {};
  if (typeof args === 'string') {
    checkPlaceholders(p, childPath(path, 'arguments'), args);
    return { name: raw.name, arguments: args };
  }
  if (!isRecord(args)) {
    p.add(childPath(path, 'arguments'), `must be a mapping or a JSON string, got ${kindOf(args)}`);
    return undefined;
  }
  const text = JSON.stringify(args);
  checkPlaceholders(p, childPath(path, 'arguments'), text);
  return { name: raw.name, arguments: text };
}

function parseReply(p: Problems, path: string, raw: unknown): ScriptReply | undefined {
  if (!isRecord(raw)) {
    p.add(path, `must be a mapping with content, got ${kindOf(raw)}`);
    return undefined;
  }
  p.unknownKeys(path, raw, ['content', 'tool_calls']);
  const { content, tool_calls: toolCalls } = raw;
  if (content !== undefined && typeof content !== 'string') p.add(childPath(path, 'content'), `must be a string, got ${kindOf(content)}`);
  if (toolCalls !== undefined && !Array.isArray(toolCalls)) p.add(childPath(path, 'tool_calls'), `must be a list, got ${kindOf(toolCalls)}`);
  if (content === undefined && toolCalls === undefined) p.add(path, 'needs content or tool_calls');
  if (typeof content === 'string') checkPlaceholders(p, childPath(path, 'content'), content);
  const calls = Array.isArray(toolCalls) ? toolCalls.map((c, i) => parseToolCall(p, childPath(childPath(path, 'tool_calls'), i), c)) : [];
  if (calls.some((c) => c === undefined)) return undefined;
  return { content: typeof content === 'string' ? content : null, toolCalls: calls as ScriptToolCall[] };
}

function parseMatch(p: Problems, path: string, raw: unknown): ScriptMatch | undefined {
  if (!isRecord(raw)) {
    p.add(path, `must be a mapping with at least model, got ${kindOf(raw)}`);
    return undefined;
  }
  p.unknownKeys(path, raw, ['model', 'fr', 'contains']);
  const match: Partial<ScriptMatch> = {};
  for (const key of ['model', 'fr', 'contains'] as const) {
    const v = raw[key];
    if (v === undefined) {
      if (key === 'model') p.add(childPath(path, key), 'is required (the model alias this rule answers)');
      continue;
    }
    if (typeof v !== 'string' || v === '') p.add(childPath(path, key), `must be a non-empty string, got ${kindOf(v)}`);
    else match[key] = v;
  }
  return match.model ? (match as ScriptMatch) : undefined;
}

function parseRule(p: Problems, path: string, raw: unknown, index: number): ScriptRule | undefined {
  if (!isRecord(raw)) {
    p.add(path, `must be a mapping with match and reply, got ${kindOf(raw)}`);
    return undefined;
  }
  p.unknownKeys(path, raw, ['match', 'reply', 'replies']);
  const match = parseMatch(p, childPath(path, 'match'), raw.match);
  let replies: (ScriptReply | undefined)[] = [];
  if ((raw.reply === undefined) === (raw.replies === undefined)) {
    p.add(path, 'needs exactly one of reply or replies');
  } else if (raw.reply !== undefined) {
    replies = [parseReply(p, childPath(path, 'reply'), raw.reply)];
  } else if (!Array.isArray(raw.replies) || raw.replies.length === 0) {
    p.add(childPath(path, 'replies'), `must be a non-empty list, got ${kindOf(raw.replies)}`);
  } else {
    replies = raw.replies.map((r, i) => parseReply(p, childPath(childPath(path, 'replies'), i), r));
  }
  if (!match || replies.length === 0 || replies.some((r) => r === undefined)) return undefined;
  return { index, match, replies: replies as ScriptReply[] };
}

/**
 * Validates a parsed script file (the format is documented at the top of
 * examples/vault/40_config/llm-script.yaml). Throws ScriptError naming every problem's path.
 */
export function parseScript(raw: unknown, file: string): LlmScript {
  const p = new Problems();
  if (!isRecord(raw)) throw new ScriptError(file, [`must be a mapping with version and rules, got ${kindOf(raw)}`]);
  p.unknownKeys('', raw, ['version', 'rules']);
  if (raw.version !== 1) p.add('version', `must be 1, got ${JSON.stringify(raw.version) ?? 'nothing'}`);
  const rules: ScriptRule[] = [];
  if (!Array.isArray(raw.rules)) p.add('rules', `must be a list, got ${kindOf(raw.rules)}`);
  else
    raw.rules.forEach((r, i) => {
      const rule = parseRule(p, childPath('rules', i), r, i);
      if (rule) rules.push(rule);
    });
  if (!p.empty) throw new ScriptError(file, p.list);
  return { rules };
}
