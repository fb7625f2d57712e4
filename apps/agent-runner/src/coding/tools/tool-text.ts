import { SpanKind, withSpan } from '@agency/telemetry';
import { jsonrepair } from 'jsonrepair';
import { checkToolArgs, ToolArgumentError } from './tool-args.js';
import { TOOL_SCHEMAS, type ToolName } from './tool-schemas.js';

/** What one tool call gave: the text the model reads, and what it changed in the repository. */
export interface ToolOutcome {
  ok: boolean;
  content: string;
  /** Repository paths the call created, changed or deleted: they get a checkpoint commit. */
  changed?: string[];
  /** finish was called with this summary. */
  finished?: { summary: string };
}

/** A string argument (empty when optional and absent), at most `max` characters. */
export function stringArg(args: Record<string, unknown>, key: string, options: { optional?: boolean; max?: number } = {}): string {
  const v = args[key];
  if (v === undefined && options.optional) return '';
  if (typeof v !== 'string') throw new ToolArgumentError(`argument "${key}" must be a string`);
  if (options.max !== undefined && v.length > options.max) throw new ToolArgumentError(`argument "${key}" is longer than ${options.max} characters`);
  return v;
}

/** An optional positive integer argument. */
export function intArg(args: Record<string, unknown>, key: string): number | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v < 1) throw new ToolArgumentError(`argument "${key}" must be a positive integer`);
  return v;
}

/** `  12\tconst x = 1;`: lines as `cat -n` shows them, so findings and edits can name them. */
export function numberLines(lines: readonly string[], first: number): string {
  const width = String(first + lines.length - 1).length;
  return lines.map((l, i) => `${String(first + i).padStart(width)}\t${l}`).join('\n');
}

/**
 * A tool call's arguments as JSON, repaired where they are merely sloppy (a trailing comma, a
 * missing quote or bracket: seen in a relay trial, where the call was refused although its
 * meaning was plain), as the agents' answers are. The JSON parser's own complaint otherwise.
 */
export function parseToolArgs(raw: string): unknown {
  const text = raw.trim() === '' ? '{}' : raw;
  try {
    return JSON.parse(text);
  } catch (e) {
    try {
      return JSON.parse(jsonrepair(text));
    } catch {
      throw e;
    }
  }
}

/**
 * read_file's answer: the file with numbered lines, at most `maxLines` of them; a long file says
 * how long it is and how to read on, so one read never floods the conversation.
 */
export function readFileView(path: string, text: string, range: { start?: number; end?: number }, maxLines: number): string {
  if (text === '') return `${path} is empty`;
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const start = range.start ?? 1;
  if (start > lines.length) throw new ToolArgumentError(`start_line ${start} is past the end of ${path} (${lines.length} lines)`);
  const asked = range.end;
  if (asked !== undefined && asked < start) throw new ToolArgumentError(`end_line ${asked} is before start_line ${start}`);
  const end = Math.min(asked ?? lines.length, lines.length, start + maxLines - 1);
  const whole = start === 1 && end === lines.length;
  const header = whole ? `${path} (${lines.length} line${lines.length === 1 ? '' : 's'})` : `${path} (lines ${start}-${end} of ${lines.length})`;
  const more =
    end < lines.length && (asked === undefined || asked > end)
      ? `\n[... ${lines.length - end} more lines: read_file with start_line ${end + 1} to go on ...]`
      : '';
  return `${header}\n${numberLines(lines.slice(start - 1, end), start)}${more}`;
}

/**
 * `; did you mean README.md?` for a path that does not exist: the same path in another case,
 * or files of the same name elsewhere, then of the same stem.
 */
export function didYouMean(path: string, paths: readonly string[]): string {
  const lower = path.toLowerCase();
  const base = lower.split('/').pop() ?? lower;
  const stem = base.replace(/\.[^.]+$/, '');
  const near = paths.filter((p) => p.toLowerCase() === lower);
  const sameName = paths.filter((p) => p.toLowerCase().split('/').pop() === base && !near.includes(p));
  const sameStem = paths.filter((p) => (p.toLowerCase().split('/').pop() ?? '').replace(/\.[^.]+$/, '') === stem && !near.includes(p) && !sameName.includes(p));
  // The same path in another case is surely the one meant; otherwise files of that name, then of that stem.
  const candidates = (near.length > 0 ? near : [...sameName, ...sameStem]).slice(0, 5);
  return candidates.length > 0 ? `; did you mean ${candidates.join(' or ')}?` : '';
}

/**
 * One tool call of the model, as a span named by OpenTelemetry's GenAI conventions,
 * `execute_tool <tool>` (`tool` is `unknown` for a name no tool has), with whether it worked.
 */
export function inToolSpan(tool: string, work: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
  return withSpan(
    `execute_tool ${tool}`,
    { kind: SpanKind.INTERNAL, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool } },
    async (span) => {
      const outcome = await work();
      span.setAttribute('agency.tool.ok', outcome.ok);
      return outcome;
    },
  );
}

/** A call's arguments read (sloppy JSON mended) and checked against the tool's schema, or the refusal the model reads. */
export function readToolArgs(name: ToolName, rawArgs: string): { args: Record<string, unknown> } | { refused: ToolOutcome } {
  try {
    const parsed = parseToolArgs(rawArgs);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return { args: checkToolArgs(TOOL_SCHEMAS[name], parsed as Record<string, unknown>) };
  } catch (e) {
    if (e instanceof ToolArgumentError) return { refused: { ok: false, content: `error: ${e.message}` } };
    return { refused: { ok: false, content: `error: the arguments of ${name} are not a JSON object (${(e as Error).message})` } };
  }
}
