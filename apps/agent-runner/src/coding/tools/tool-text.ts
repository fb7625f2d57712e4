import { SpanKind, withSpan } from '@agency/telemetry';
import { jsonrepair } from 'jsonrepair';
import { checkToolArgs, ToolArgumentError, withOurArgumentNames } from './tool-args.js';
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

/** A read_file path with the lines written into it, as read: the file and the range, and the line the model is told. */
export interface RangeInPath {
  path: string;
  /** As readFileView takes it. */
  range: { start: number; end?: number };
  note: string;
}

const RANGE_SUFFIX = /^(.+?)(?::(\d+)(?:-(\d+))?|#L(\d+)(?:-L?(\d+))?)$/;

/**
 * The lines written into a read_file path as editors and reviews write them (`lib/help.js:60-80`,
 * `lib/help.js:60`, `lib/help.js#L60-L80`; a relay trial's coder was told "did you mean
 * lib/help.js?"), when neither start_line nor end_line was given: `:60` reads from line 60 on.
 * The caller reads it only when the path as written does not exist and this one does.
 */
export function rangeInPath(path: string, args: Record<string, unknown>): RangeInPath | undefined {
  if (args.start_line !== undefined || args.end_line !== undefined) return undefined;
  const m = RANGE_SUFFIX.exec(path);
  if (!m) return undefined;
  const start = Number(m[2] ?? m[4]);
  const last = m[3] ?? m[5];
  const end = last === undefined ? undefined : Number(last);
  if (start < 1 || (end !== undefined && end < start)) return undefined;
  const file = m[1]!;
  const lines = `start_line ${start}${end !== undefined ? `, end_line ${end}` : ''}`;
  return { path: file, range: { start, ...(end !== undefined ? { end } : {}) }, note: `[path "${path}" read as path "${file}" with ${lines}]` };
}

/** Levenshtein distance with adjacent transpositions (`utlis` is one step from `utils`), giving up past `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    if (Math.min(...row) > limit) return limit + 1;
    before = previous;
    previous = row;
  }
  return previous[b.length];
}

/** How a path that exists resembles the one asked for; lower is closer. */
enum Likeness {
  SameName = 0,
  SameNameUnprefixed = 1,
  SameStem = 2,
  NearName = 3,
}

interface PathParts {
  dir: string[];
  base: string;
  bare: string;
  stem: string;
}

function partsOf(path: string): PathParts {
  const segments = path.toLowerCase().split('/');
  const base = segments.pop() ?? '';
  const bare = base.replace(/^[_.]+/, '');
  return { dir: segments, base, bare, stem: bare.replace(/\.[^.]+$/, '') };
}

/** Steps from one directory to the other: 0 the same, 1 its parent or a subdirectory, 2 a sibling. */
function dirSteps(a: readonly string[], b: readonly string[]): number {
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common += 1;
  return a.length - common + (b.length - common);
}

/**
 * The edit distance a name may be off by and still be meant, by the length of its stem: none
 * below three characters (b.js is not a misspelt a.js), one up to five, two from six.
 */
function nameSlack(stem: string): number {
  return stem.length < 3 ? 0 : stem.length < 6 ? 1 : 2;
}

interface Resemblance {
  likeness: Likeness;
  /** How far off it is: its likeness (a misspelling by its edit distance), plus the directories between. */
  cost: number;
}

/** How `candidate` resembles `asked`, or undefined when it does not enough to be suggested. */
function resemblance(asked: PathParts, candidate: PathParts): Resemblance | undefined {
  const steps = dirSteps(asked.dir, candidate.dir);
  if (candidate.base === asked.base) return { likeness: Likeness.SameName, cost: steps };
  if (candidate.bare === asked.bare) return { likeness: Likeness.SameNameUnprefixed, cost: 1 + steps };
  if (candidate.stem === asked.stem && asked.stem !== '') return { likeness: Likeness.SameStem, cost: 2 + steps };
  // A misspelt name is only worth naming close to where it was looked for.
  if (steps > 1) return undefined;
  const slack = nameSlack(asked.stem);
  if (slack === 0) return undefined;
  const distance = editDistance(asked.base, candidate.base, slack);
  return distance <= slack ? { likeness: Likeness.NearName, cost: 1 + distance + steps } : undefined;
}

/** At most this many suggestions: more reads as a listing, not a hint. */
const MAX_SUGGESTIONS = 3;

/**
 * `; did you mean README.md?` for a path that does not exist: the same path in another case
 * alone, as it is surely the one meant; otherwise at most three paths, closest first, of: the
 * same file name elsewhere, the same name but for a leading `_` or `.` (src/_utils.ts for
 * src/utils.ts, relay trial citty), the same stem, a name a letter or two off in the same
 * directory, its parent or a subdirectory. Closest weighs how alike the names are and how many
 * directories lie between (a `_utils.ts` beside it before a `utils.ts` two directories away).
 */
export function didYouMean(path: string, paths: readonly string[]): string {
  const lower = path.toLowerCase();
  const sameCase = paths.filter((p) => p.toLowerCase() === lower);
  if (sameCase.length > 0) return `; did you mean ${sameCase.slice(0, MAX_SUGGESTIONS).join(' or ')}?`;
  const asked = partsOf(path);
  const ranked = paths
    .map((p) => ({ path: p, ...resemblance(asked, partsOf(p)) }))
    .filter((r): r is { path: string } & Resemblance => r.likeness !== undefined)
    .sort((x, y) => x.cost - y.cost || x.likeness - y.likeness || x.path.localeCompare(y.path));
  const shown = ranked.slice(0, MAX_SUGGESTIONS).map((r) => r.path);
  return shown.length > 0 ? `; did you mean ${shown.join(' or ')}?` : '';
}

/** A name a tool could have (OpenAI's rule for function names): anything else is not put in a span name. */
const TOOL_NAME_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * One tool call of the model, as a span named by OpenTelemetry's GenAI conventions,
 * `execute_tool <tool>`, with whether it worked. `ran` is the tool that ran, when the model's
 * name was one of ours or stood for one (`bash` for run_command); a name no tool has keeps the
 * model's name, so a trace shows what it asked for. Whenever the two differ, the name asked is
 * `agency.tool.asked_name`: a count of those is a count of turns a tool's name cost.
 */
export function inToolSpan(call: { asked: string; ran?: string }, work: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
  const tool = call.ran ?? (TOOL_NAME_SHAPE.test(call.asked) ? call.asked : undefined);
  return withSpan(
    tool ? `execute_tool ${tool}` : 'execute_tool',
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        ...(tool ? { 'gen_ai.tool.name': tool } : {}),
        ...(call.asked !== call.ran ? { 'agency.tool.asked_name': call.asked.slice(0, 200) } : {}),
      },
    },
    async (span) => {
      const outcome = await work();
      span.setAttribute('agency.tool.ok', outcome.ok);
      return outcome;
    },
  );
}

/** A call's arguments read (sloppy JSON mended) and checked against the tool's schema, or the refusal the model reads. */
export function readToolArgs(name: ToolName, rawArgs: string): { args: Record<string, unknown>; note?: string } | { refused: ToolOutcome } {
  let note: string | undefined;
  try {
    const parsed = parseToolArgs(rawArgs);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    // Read under our names, and said so: otherwise the model keeps the other family's names (a trial).
    const { args: named, renamed } = withOurArgumentNames(TOOL_SCHEMAS[name], parsed as Record<string, unknown>);
    if (renamed.length > 0) note = `[arguments read as ${name}'s: ${renamed.join(', ')}]`;
    const args = checkToolArgs(TOOL_SCHEMAS[name], named);
    return note ? { args, note } : { args };
  } catch (e) {
    // A refused call still says which names were read as ours (a trial's search lost `query -> pattern` with its refusal).
    if (e instanceof ToolArgumentError) return { refused: { ok: false, content: `${note ? `${note}\n` : ''}error: ${e.message}` } };
    return { refused: { ok: false, content: `error: the arguments of ${name} are not a JSON object (${(e as Error).message})` } };
  }
}
