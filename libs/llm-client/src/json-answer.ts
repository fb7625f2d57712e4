import { jsonrepair, JSONRepairError } from 'jsonrepair';

/** What reading a model's answer as JSON gave: the value, and what had to be done to get it. */
export type JsonReading = { ok: true; value: unknown; fixes: string[] } | { ok: false; problem: string };

const FENCE = /```[ \t]*([A-Za-z0-9_-]*)[^\n]*\n([\s\S]*?)\n[ \t]*```/g;

/**
 * The first balanced `{...}` or `[...]` in `text` starting at `from`, skipping brackets inside
 * strings. Undefined when none closes.
 */
function balancedFrom(text: string, from: number): string | undefined {
  const open = text[from];
  const close = open === '{' ? '}' : ']';
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === open) depth += 1;
    else if (c === close) {
      depth -= 1;
      if (depth === 0) return text.slice(from, i + 1);
    }
  }
  return undefined;
}

/**
 * Where the JSON may be in an answer, most likely first: the whole text, each fenced block
 * (json-tagged ones first), then the first object found in the prose, then the text from its
 * first `{` to the end (a cut answer, for the repair to close).
 */
function candidates(text: string): Array<{ json: string; where: string }> {
  const out: Array<{ json: string; where: string }> = [{ json: text.trim(), where: '' }];
  const fences = [...text.matchAll(FENCE)].map((m) => ({ lang: m[1]!.toLowerCase(), body: m[2]! }));
  for (const f of [...fences.filter((f) => f.lang === 'json'), ...fences.filter((f) => f.lang !== 'json')])
    out.push({ json: f.body.trim(), where: 'took the JSON out of a fenced block' });
  const first = text.search(/[{[]/);
  if (first >= 0) {
    const object = text.indexOf('{');
    for (const start of [...new Set([object, first].filter((i) => i >= 0))]) {
      const balanced = balancedFrom(text, start);
      if (balanced) out.push({ json: balanced, where: 'took the JSON out of the surrounding prose' });
    }
    if (object >= 0) out.push({ json: text.slice(object).trim(), where: 'took the JSON from its first "{" to the end' });
  }
  return out.filter((c) => c.json !== '');
}

/**
 * Reads a model's answer as JSON the way real models give it: bare, in a fence, in prose, or
 * merely sloppy (trailing commas, single quotes, comments, unquoted keys, a cut end), which
 * jsonrepair mends. Returns the value and the fixes it took, or the precise problem with the
 * strict reading of the most likely candidate.
 */
export function readJsonAnswer(text: string): JsonReading {
  const found = candidates(text);
  if (found.length === 0) return { ok: false, problem: 'the answer is empty; it must be a JSON object' };
  for (const c of found) {
    try {
      return { ok: true, value: JSON.parse(c.json), fixes: c.where ? [c.where] : [] };
    } catch {
      // Tried strictly first everywhere, so a valid JSON inside a fence wins over a repaired whole.
    }
  }
  // Repair is tried on the extracted pieces before the whole text: jsonrepair reads prose around
  // a JSON as newline-delimited values and would make it an array. A whole text counts only when it
  // starts like JSON.
  const repairable = [...found.slice(1), ...(/^[{[]/.test(found[0]!.json) ? [found[0]!] : [])];
  for (const c of repairable) {
    try {
      const repaired = jsonrepair(c.json);
      const value: unknown = JSON.parse(repaired);
      // jsonrepair turns any prose into a JSON string: only structured values count as the answer.
      if (value === null || typeof value !== 'object') continue;
      return { ok: true, value, fixes: [...(c.where ? [c.where] : []), 'repaired malformed JSON (e.g. trailing commas, quotes, comments or a cut end)'] };
    } catch (e) {
      if (!(e instanceof JSONRepairError)) throw e;
    }
  }
  return { ok: false, problem: strictProblem(found[0]!.json) };
}

/** JSON.parse's own complaint about the most likely candidate, with the text around the position it names. */
function strictProblem(json: string): string {
  try {
    JSON.parse(json);
    return 'not a JSON object or array';
  } catch (e) {
    const message = (e as Error).message;
    const at = /position (\d+)/.exec(message);
    const pos = at ? Number(at[1]) : 0;
    const around = json.slice(Math.max(0, pos - 40), pos + 60).replace(/\n/g, '\\n');
    return `not valid JSON (${message}; near "${around}")`;
  }
}
