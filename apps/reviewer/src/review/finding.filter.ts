import type { Severity } from '@agency/contracts';
import type { DiffFile, ParsedDiff } from '../diff/unified-diff.parser.js';
import { atLeast, SEVERITY_RANK, type DroppedFinding, type Finding, type ModelReview } from './review.model.js';

export interface NoiseOptions {
  minSeverity: Severity;
  minConfidence: number;
}

export interface FilterResult {
  kept: Finding[];
  dropped: DroppedFinding[];
}

/** ReviewedEvent carries at most this many findings. */
export const MAX_EVENT_FINDINGS = 200;

const STOP_WORDS = new Set([
  'the',
  'and',
  'for',
  'this',
  'that',
  'with',
  'should',
  'could',
  'would',
  'are',
  'not',
  'but',
  'from',
  'line',
  'file',
  'here',
  'its',
  'was',
  'has',
  'have',
  'into',
  'when',
  'there',
  'which',
]);

function words(message: string): Set<string> {
  return new Set(
    message
      .toLowerCase()
      .match(/[a-z0-9_]{3,}/g)
      ?.filter((w) => !STOP_WORDS.has(w)) ?? [],
  );
}

/** Two messages say the same thing when most words of the shorter one appear in the longer. */
export function messagesOverlap(a: string, b: string): boolean {
  const na = a.trim().toLowerCase();
  const nb = b.trim().toLowerCase();
  if (na === nb || (na.length >= 12 && nb.includes(na)) || (nb.length >= 12 && na.includes(nb))) return true;
  const wa = words(a);
  const wb = words(b);
  const common = [...wa].filter((w) => wb.has(w)).length;
  return common >= 2 && common / Math.min(wa.size, wb.size) >= 0.6;
}

/** Model findings with the review's confidence where a finding gives none. */
export function modelFindings(review: ModelReview): Finding[] {
  return review.findings.map((f) => ({ ...f, confidence: f.confidence ?? review.confidence, blocking: false, source: 'model' as const }));
}

/** Finds the diff file a model's path names, forgiving `a/`, `b/`, `./` and leading slashes. */
function fileOf(diff: ParsedDiff | undefined, path: string): DiffFile | undefined {
  if (!diff || !path) return undefined;
  const candidates = [path, path.replace(/^\.?\//, ''), path.replace(/^[ab]\//, '')];
  return diff.files.find((f) => candidates.includes(f.path) || (f.oldPath !== undefined && candidates.includes(f.oldPath)));
}

/** Whether a finding points at what the change touched (a whole-change finding always does). */
export function onChangedLine(diff: ParsedDiff | undefined, f: Pick<Finding, 'file' | 'line'>): boolean {
  if (!f.file) return true;
  const file = fileOf(diff, f.file);
  if (!file) return false;
  if (f.line === undefined || file.status === 'deleted') return true;
  return file.touched.has(f.line);
}

function label(f: Finding): string {
  return `${f.source}${f.check ? `:${f.check}` : ''} ${f.file || '(whole change)'}${f.line !== undefined ? `:${f.line}` : ''}`;
}

function isDuplicate(a: Finding, b: Finding): boolean {
  if (a.file !== b.file) return false;
  return (a.line !== undefined && a.line === b.line) || messagesOverlap(a.message, b.message);
}

const OFF_LINE_NOTE = ' (Not on a changed line; non-blocking.)';

/** Which of two duplicates leads: a check; else a blocking one (so a blocking result is always on a changed line); else the more severe. */
function leader(base: Finding, extra: Finding): [Finding, Finding] {
  if (base.source === 'check') return [base, extra];
  if (extra.source === 'check') return [extra, base];
  if (base.blocking !== extra.blocking) return base.blocking ? [base, extra] : [extra, base];
  return SEVERITY_RANK[base.severity] >= SEVERITY_RANK[extra.severity] ? [base, extra] : [extra, base];
}

/** Folds `extra` into `base`: the leader's place and blocking, the stronger confidence, nothing said is lost. */
function merge(base: Finding, extra: Finding): Finding {
  const [strong, weak] = leader(base, extra);
  const out: Finding = { ...strong };
  const conf = Math.max(base.confidence ?? 0, extra.confidence ?? 0);
  if (conf > 0) out.confidence = conf;
  const weakMessage = weak.message.replace(OFF_LINE_NOTE, '');
  if (strong.source === 'model' && !messagesOverlap(strong.message, weakMessage)) out.message = `${strong.message} Also: ${weakMessage}`.slice(0, 5000);
  out.suggestion ??= weak.suggestion;
  if (out.suggestion === undefined) delete out.suggestion;
  return out;
}

/**
 * The noise filter: drops model findings below MIN_SEVERITY or MIN_CONFIDENCE, keeps findings
 * off the changed lines only as non-blocking notes, makes major/critical findings on changed
 * lines blocking, and those about what the change misses (no file, or a file outside the diff
 * and no line: a criterion not met, a file not changed) too, and merges duplicates (same file, and the same line or the same point) into
 * the deterministic finding or the stronger model finding. Blocking check findings always stay.
 */
export function filterFindings(checks: readonly Finding[], model: readonly Finding[], diff: ParsedDiff | undefined, options: NoiseOptions): FilterResult {
  const kept: Finding[] = [];
  const dropped: DroppedFinding[] = [];
  for (const f of checks) {
    if (!f.blocking && !atLeast(f.severity, options.minSeverity))
      dropped.push({ finding: f, reason: `severity ${f.severity} is below MIN_SEVERITY ${options.minSeverity}` });
    else kept.push(f);
  }
  for (const raw of model) {
    const resolved = fileOf(diff, raw.file);
    const f: Finding = { ...raw, file: resolved && raw.file !== resolved.path && raw.file !== resolved.oldPath ? resolved.path : raw.file };
    if (!atLeast(f.severity, options.minSeverity)) {
      dropped.push({ finding: f, reason: `severity ${f.severity} is below MIN_SEVERITY ${options.minSeverity}` });
      continue;
    }
    if ((f.confidence ?? 0) < options.minConfidence) {
      dropped.push({ finding: f, reason: `confidence ${f.confidence ?? 0} is below MIN_CONFIDENCE ${options.minConfidence}` });
      continue;
    }
    // Something the change misses (a criterion, a file it should have changed) has no line to be on.
    const missing = !f.file.trim() || (f.line === undefined && !resolved);
    if (onChangedLine(diff, f) || missing) f.blocking = atLeast(f.severity, 'major');
    else {
      f.blocking = false;
      f.note = `${f.file}${f.line !== undefined ? `:${f.line}` : ''} is not a line this change touched: kept as a non-blocking note`;
      f.message = `${f.message}${OFF_LINE_NOTE}`.slice(0, 5000);
    }
    const twin = kept.findIndex((k) => isDuplicate(k, f));
    if (twin >= 0) {
      const base = kept[twin]!;
      kept[twin] = merge(base, f);
      dropped.push({ finding: f, reason: `duplicate of ${label(base)}: merged` });
      continue;
    }
    kept.push(f);
  }
  return capFindings(kept, dropped);
}

/** Blocking first, then by severity, file and line; beyond the event's limit the rest is dropped. */
export function capFindings(kept: Finding[], dropped: DroppedFinding[]): FilterResult {
  const sorted = [...kept].sort(
    (a, b) =>
      Number(b.blocking) - Number(a.blocking) ||
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0),
  );
  const over = sorted.splice(MAX_EVENT_FINDINGS);
  return { kept: sorted, dropped: [...dropped, ...over.map((finding) => ({ finding, reason: `over the ${MAX_EVENT_FINDINGS}-finding limit of the event` }))] };
}
