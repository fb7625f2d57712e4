import type { ToolDefinition } from '@agency/llm-client';

/** A model's mistake in calling a tool: told back to it, never thrown out of the loop. */
export class ToolArgumentError extends Error {}

interface PropertySchema {
  type?: string;
  description?: string;
}

interface ObjectSchema {
  properties?: Record<string, PropertySchema>;
  required?: string[];
}

/** `path (string, required), start_line (integer)`: what a tool takes, for error messages. */
export function describeParameters(tool: ToolDefinition): string {
  const schema = tool.parameters as ObjectSchema;
  const required = new Set(schema.required ?? []);
  const parts = Object.entries(schema.properties ?? {}).map(([name, p]) => `${name} (${p.type ?? 'any'}${required.has(name) ? ', required' : ''})`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** Values models commonly send as text for numbers and booleans: taken as meant. */
function coerce(value: unknown, type: string | undefined): unknown {
  if (typeof value !== 'string') return value;
  if (type === 'integer' && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  if (type === 'boolean' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return value;
}

function typeOk(value: unknown, type: string | undefined): boolean {
  if (type === undefined) return true;
  if (type === 'integer') return typeof value === 'number' && Number.isInteger(value);
  if (type === 'array') return Array.isArray(value);
  if (type === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  return typeof value === type;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Argument names other tool families use for ours (Claude Code's `old_string`/`new_string` and
 * `file_path`, `filepath`...): a pathe trial's coder lost a whole turn to `old_string`. Only
 * names with one meaning: an unknown argument that could change what a call does (`append`,
 * `cwd`) is still refused rather than dropped.
 */
const ARGUMENT_SYNONYMS: ReadonlyMap<string, string> = new Map([
  ['file_path', 'path'],
  ['filepath', 'path'],
  ['filePath', 'path'],
  ['filename', 'path'],
  ['file', 'path'],
  ['old_string', 'old_text'],
  ['old_str', 'old_text'],
  ['oldText', 'old_text'],
  ['new_string', 'new_text'],
  ['new_str', 'new_text'],
  ['newText', 'new_text'],
  ['replaceAll', 'replace_all'],
  ['file_text', 'content'],
  ['contents', 'content'],
  ['cmd', 'command'],
  // run_command's limit: a rou3 trial's coder lost a turn to `timeout`.
  ['timeout', 'timeout_seconds'],
  ['timeout_sec', 'timeout_seconds'],
  ['timeout_secs', 'timeout_seconds'],
  ['timeout_s', 'timeout_seconds'],
  ['timeoutSeconds', 'timeout_seconds'],
  ['timeout_ms', 'timeout_seconds'],
  ['timeoutMs', 'timeout_seconds'],
  ['startLine', 'start_line'],
  ['start', 'start_line'],
  ['line_start', 'start_line'],
  ['from_line', 'start_line'],
  ['endLine', 'end_line'],
  ['end', 'end_line'],
  ['line_end', 'end_line'],
  ['to_line', 'end_line'],
  // search's `include` (opencode's grep, ripgrep's --glob) is left out: a file-name glob (`*.ts`), where
  // our `path` is one literal file or directory; read as a path, a glob would find nothing and say so.
  ['query', 'pattern'],
  ['is_regex', 'regex'],
  ['isRegex', 'regex'],
]);

/** Synonyms whose value is in another unit: milliseconds become whole seconds (rounded up). */
const MILLISECONDS = new Set(['timeout_ms', 'timeoutMs']);

function inOurUnit(key: string, value: unknown): unknown {
  if (!MILLISECONDS.has(key)) return value;
  const ms = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : value;
}

/** A whole number from `min`, given as a number or as digits; anything else is undefined. */
function wholeFrom(value: unknown, min: number): number | undefined {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= min ? n : undefined;
}

/**
 * Claude Code's Read takes `offset` (the line to start from) and `limit` (how many lines): the
 * lines start_line = offset to end_line = offset + limit - 1 (a relay trial's planner lost both
 * of its first reads to them). Two names make one range, so they are read together, only where
 * the tool takes start_line and end_line and neither is given, and only as whole numbers; an
 * offset of 0 (a reader counting from 0) is line 1. Anything else is left for checkToolArgs to refuse.
 */
function lineWindow(properties: Record<string, PropertySchema>, args: Record<string, unknown>): string | undefined {
  if (!('offset' in args || 'limit' in args) || !('start_line' in properties && 'end_line' in properties)) return undefined;
  if ('start_line' in args || 'end_line' in args) return undefined;
  const offset = 'offset' in args ? wholeFrom(args.offset, 0) : undefined;
  const limit = 'limit' in args ? wholeFrom(args.limit, 1) : undefined;
  if (('offset' in args && offset === undefined) || ('limit' in args && limit === undefined)) return undefined;
  const start = Math.max(offset ?? 1, 1);
  delete args.offset;
  delete args.limit;
  const given = [...(offset !== undefined ? [`offset ${offset}`] : []), ...(limit !== undefined ? [`limit ${limit}`] : [])];
  const read: string[] = [];
  if (offset !== undefined) {
    args.start_line = start;
    read.push(`start_line ${start}`);
  }
  if (limit !== undefined) {
    args.end_line = start + limit - 1;
    read.push(`end_line ${start + limit - 1}`);
  }
  return `${given.join(', ')} -> ${read.join(', ')}`;
}

/**
 * The arguments with other families' names put under ours, where the tool has that argument and
 * it was not given under our name too (a name left as it was is refused by checkToolArgs), and
 * what was renamed (`old_string -> old_text`), which the model is told so its next call uses ours.
 * `converted` is the part of `renamed` whose values changed too (milliseconds, offset and limit):
 * a call run under another tool name says those, as its value is not what the model sent.
 */
export function withOurArgumentNames(
  tool: ToolDefinition,
  given: Record<string, unknown>,
): { args: Record<string, unknown>; renamed: string[]; converted: string[] } {
  const properties = (tool.parameters as ObjectSchema).properties ?? {};
  const args: Record<string, unknown> = {};
  const renamed: string[] = [];
  const converted: string[] = [];
  for (const [key, value] of Object.entries(given)) {
    const ours = key in properties ? key : ARGUMENT_SYNONYMS.get(key);
    const rename = ours !== undefined && ours !== key && ours in properties && !(ours in given) && !(ours in args);
    args[rename ? ours : key] = rename ? inOurUnit(key, value) : value;
    if (rename) renamed.push(MILLISECONDS.has(key) ? `${key} -> ${ours} (in seconds)` : `${key} -> ${ours}`);
    if (rename && MILLISECONDS.has(key)) converted.push(renamed.at(-1)!);
  }
  const window = lineWindow(properties, args);
  if (window) {
    renamed.push(window);
    converted.push(window);
  }
  return { args, renamed, converted };
}

/**
 * Checks a tool call's arguments against the tool's JSON schema (the flat objects our tools take):
 * an unknown argument is named, with the arguments the tool does take; a missing one or one of the
 * wrong type says which. Hand-written rather than a schema library: the schemas are flat, and the
 * point is a message a model acts on at once.
 */
export function checkToolArgs(tool: ToolDefinition, args: Record<string, unknown>): Record<string, unknown> {
  const schema = tool.parameters as ObjectSchema;
  const properties = schema.properties ?? {};
  const expected = `${tool.name} takes: ${describeParameters(tool)}`;
  const unknown = Object.keys(args).filter((k) => !(k in properties));
  if (unknown.length > 0) {
    const names = unknown.map((k) => `"${k}"`).join(', ');
    throw new ToolArgumentError(`${tool.name} has no argument${unknown.length > 1 ? 's' : ''} ${names}. ${expected}`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(properties)) {
    const raw = args[name];
    if (raw === undefined || raw === null) {
      if ((schema.required ?? []).includes(name)) throw new ToolArgumentError(`argument "${name}" of ${tool.name} is missing. ${expected}`);
      continue;
    }
    const value = coerce(raw, p.type);
    if (!typeOk(value, p.type))
      throw new ToolArgumentError(
        `argument "${name}" of ${tool.name} must be ${p.type === 'integer' ? 'an integer' : `a ${p.type}`} (got ${shown(raw)}). ${expected}`,
      );
    out[name] = value;
  }
  return out;
}
