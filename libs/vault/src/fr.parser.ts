import { createHash } from 'node:crypto';
import { isMap } from 'yaml';
import { FR_ID_PATTERN, PRIORITIES, type FrSnapshotDto, type Priority } from '@agency/contracts';
import { FrontMatterError, splitFrontMatter } from './front-matter.js';

export interface ParsedFr extends FrSnapshotDto {
  status: string;
  /** Fields the agency wrote back earlier (pr, saga, trace), if any. */
  extra: Record<string, unknown>;
}

/** An FR file the agency cannot take; `problems` name each field or line at fault. */
export class FrParseError extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`${path}: ${problems.join('; ')}`);
    this.name = 'FrParseError';
  }
}

const KNOWN = new Set(['id', 'title', 'status', 'priority', 'repo', 'base', 'phases', 'depends_on', 'acceptance_criteria']);

/** Headings of the sections the agency writes into an FR file itself (see fr.writer.ts). */
export const AGENCY_SECTIONS: readonly string[] = ['Agency log'];
/** Front matter fields the agency writes back; not part of what a person asked for. */
export const AGENCY_FIELDS: readonly string[] = [
  'status',
  'agency_state',
  'agency_saga',
  'agency_seq',
  'trace_id',
  'cost_usd',
  'pr',
  'trace_url',
  'blocked_reason',
];

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;

/**
 * The body as a person wrote it: every section the agency writes (its log, with earlier runs'
 * lines and answers) is cut out, so the agents never read the agency's own words back as the FR.
 */
export function humanBody(body: string): string {
  const out: string[] = [];
  let skipping = 0;
  for (const line of body.split(/\r?\n/)) {
    const h = HEADING.exec(line);
    if (h && skipping && h[1]!.length <= skipping) skipping = 0;
    if (h && !skipping && AGENCY_SECTIONS.some((title) => title.toLowerCase() === h[2]!.toLowerCase())) skipping = h[1]!.length;
    if (!skipping) out.push(line);
  }
  return out.join('\n');
}

const LIST_ITEM = /^( {0,3})([-*+]|\d+[.)])(\s+)(?:\[[ xX]\]\s+)?(.*)$/;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * The items of a markdown section: its top-level list items before any sub-heading, each whole
 * (lines that continue it, indented, and its nested sub-items, kept under it), or, when it has no
 * list of its own, the titles of its sub-headings ("### Phase 1: ...").
 */
export function sectionItems(body: string, heading: RegExp): string[] {
  const lines = body.split(/\r?\n/);
  const start = lines.findIndex((l) => /^#{1,6}\s/.test(l) && heading.test(l.replace(/^#+\s*/, '')));
  if (start < 0) return [];
  const level = lines[start]!.match(/^#+/)![0].length;
  const items: string[][] = [];
  const subheadings: string[] = [];
  let current: { lines: string[]; indent: number } | undefined;
  let blank = false;
  for (const line of lines.slice(start + 1)) {
    const h = line.match(/^(#{1,6})\s+(.*)$/);
    if (h && h[1]!.length <= level) break;
    if (h) {
      subheadings.push(h[2]!.trim());
      current = undefined;
      continue;
    }
    if (subheadings.length > 0) continue;
    // A line indented to the current item's text belongs to it, nested list items included.
    const nested = current !== undefined && line.trim() !== '' && indentOf(line) >= current.indent;
    const item = nested ? undefined : LIST_ITEM.exec(line);
    if (item) {
      current = { lines: [item[4]!.trim()], indent: item[1]!.length + item[2]!.length + item[3]!.length };
      items.push(current.lines);
      blank = false;
    } else if (!line.trim()) {
      blank = true;
    } else if (current && (indentOf(line) >= Math.min(current.indent, 2) || !blank)) {
      // A continuation: indented under the item, or a lazy line right after it.
      if (blank) current.lines.push('');
      current.lines.push(line.slice(Math.min(indentOf(line), current.indent)).trimEnd());
      blank = false;
    } else {
      current = undefined;
    }
  }
  const whole = items.map((l) => l.join('\n').trim()).filter(Boolean);
  return whole.length > 0 ? whole : subheadings;
}

/** A bug report's "Expected" (behaviour, result...) section: what must hold once it is fixed. */
const EXPECTED = /^expected(\s+(behaviou?rs?|results?|outcomes?|output))?\s*:?\s*$/i;
const EXPECTED_TEXT_CHARS = 2000;

/**
 * The acceptance criteria of the body: its "Acceptance criteria" list; without one, a bug
 * report's "Expected" section, its list items or else its text as one criterion (a trial's
 * reviewer and PR read "no acceptance criteria" for an FR that said exactly what was expected).
 */
function criteriaOf(body: string): string[] {
  const listed = sectionItems(body, /^acceptance\s+criteria\b/i);
  if (listed.length > 0) return listed;
  const expected = sectionItems(body, EXPECTED);
  if (expected.length > 0) return expected;
  const text = sectionText(body, EXPECTED);
  return text ? [text.length > EXPECTED_TEXT_CHARS ? `${text.slice(0, EXPECTED_TEXT_CHARS).trimEnd()} [...]` : text] : [];
}

/** The text under the first heading matching `heading`, up to the next heading of its level or higher. */
function sectionText(body: string, heading: RegExp): string {
  const lines = body.split(/\r?\n/);
  const start = lines.findIndex((l) => /^#{1,6}\s/.test(l) && heading.test(l.replace(/^#+\s*/, '')));
  if (start < 0) return '';
  const level = lines[start]!.match(/^#+/)![0].length;
  const end = lines.findIndex((l, i) => i > start && (l.match(/^(#{1,6})\s/)?.[1]?.length ?? 7) <= level);
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join('\n')
    .trim();
}

function stringList(value: unknown, field: string, problems: string[]): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
    problems.push(`${field}: must be a list of strings`);
    return undefined;
  }
  return value.map(String);
}

/**
 * Parses an FR file: YAML front matter (id, title required; priority, repo, base, phases,
 * depends_on optional) and a markdown body whose "Phases" and "Acceptance criteria" lists (or,
 * for a bug report, its "Expected" section) are read when the front matter does not give them. `defaults` fill what the vault config decides.
 */
export function parseFr(text: string, path: string, defaults: { repo?: string; base?: string } = {}): ParsedFr {
  let split;
  try {
    split = splitFrontMatter(text);
  } catch (e) {
    if (e instanceof FrontMatterError) throw new FrParseError(path, e.problems);
    throw e;
  }
  const fm = isMap(split.doc.contents) ? (split.doc.toJS() as Record<string, unknown>) : {};
  const problems: string[] = [];
  const str = (k: string) => (typeof fm[k] === 'string' || typeof fm[k] === 'number' ? String(fm[k]).trim() : undefined);

  const id = str('id');
  if (!id) problems.push('id: required (e.g. id: FR-054)');
  else if (!FR_ID_PATTERN.test(id)) problems.push(`id: "${id}" must look like FR-054`);
  const title = str('title');
  if (!title) problems.push('title: required');
  const priority = (str('priority') ?? 'medium').toLowerCase();
  if (!(PRIORITIES as readonly string[]).includes(priority)) problems.push(`priority: "${priority}" must be one of ${PRIORITIES.join(', ')}`);
  const repo = str('repo') ?? defaults.repo;
  if (!repo) problems.push('repo: required (a repository named in 40_config/agency.yaml)');
  const base = str('base') ?? defaults.base ?? 'main';
  const body = humanBody(split.body);
  const phases = stringList(fm.phases, 'phases', problems) ?? sectionItems(body, /^phases?\b/i);
  const dependsOn = stringList(fm.depends_on, 'depends_on', problems) ?? [];
  for (const d of dependsOn) if (!FR_ID_PATTERN.test(d)) problems.push(`depends_on: "${d}" is not an FR id`);
  const acceptanceCriteria = stringList(fm.acceptance_criteria, 'acceptance_criteria', problems) ?? criteriaOf(body);
  if (problems.length > 0) throw new FrParseError(path, problems);

  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fm)) if (!KNOWN.has(k)) extra[k] = v;
  return {
    id: id!,
    title: title!.slice(0, 300),
    status: str('status') ?? 'planned',
    priority: priority as Priority,
    repo: repo!,
    base,
    phases,
    dependsOn,
    acceptanceCriteria,
    body: body.trim(),
    path,
    contentHash: humanContentHash(fm, body),
    extra,
  };
}

/**
 * sha256 of what a person wrote: the front matter without the fields the agency writes back,
 * and the body without the agency's sections. The agency's own write-back never changes it; an
 * edit by a person does.
 */
function humanContentHash(fm: Record<string, unknown>, body: string): string {
  const fields = Object.keys(fm)
    .filter((k) => !AGENCY_FIELDS.includes(k))
    .sort()
    .map((k) => [k, fm[k]]);
  return createHash('sha256').update(JSON.stringify(fields)).update('\n').update(body.trim()).digest('hex');
}

/** A best guess at the FR id of a file that did not parse, from its name (FR-054-foo.md). */
export function frIdFromFileName(path: string): string | undefined {
  return path
    .split('/')
    .pop()
    ?.match(/^([A-Z][A-Z0-9]*-\d+)/)?.[1];
}
