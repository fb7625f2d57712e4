import { SEVERITIES, VERDICTS, type Severity, type Verdict } from '@agency/contracts';
import type { ModelFinding, ModelReview } from '../review/review.model.js';

/** The model's answer is not the agreed shape; the message names the field, for the repair prompt. */
export class ReviewAnswerError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ReviewAnswerError';
  }
}

export const MAX_MODEL_FINDINGS = 200;
const TOP_KEYS = ['verdict', 'confidence', 'summary', 'findings'];
const FINDING_KEYS = ['file', 'line', 'severity', 'message', 'suggestion', 'confidence'];

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function noUnknownKeys(obj: Record<string, unknown>, allowed: string[], at: string): void {
  const extra = Object.keys(obj).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new ReviewAnswerError(at ? `${at}.${extra}` : extra, `unknown field; allowed: ${allowed.join(', ')}`);
}

function text(value: unknown, field: string, opts: { min: number; max: number }): string {
  if (typeof value !== 'string') throw new ReviewAnswerError(field, `must be a string (got ${shown(value)})`);
  if (value.trim().length < opts.min) throw new ReviewAnswerError(field, 'must not be empty');
  if (value.length > opts.max) throw new ReviewAnswerError(field, `must be at most ${opts.max} characters (got ${value.length})`);
  return value;
}

/**
 * A confidence from 0 to 1. A percentage has one reading and is taken as one: a whole number from
 * 10 to 100, or a string "90%" (a relay trial's reviewer paid a repair turn for `90`).
 */
function unit(value: unknown, field: string): number {
  const percent = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  // Whole numbers only: 1.5 or 8 (of 10) have no one reading as a percentage, and stay refused.
  const n = percent ? Number(percent[1]) / 100 : typeof value === 'number' && Number.isInteger(value) && value >= 10 && value <= 100 ? value / 100 : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1) throw new ReviewAnswerError(field, `must be a number from 0 to 1 (got ${shown(value)})`);
  return n;
}

/** The severities the prompt offers; `info` is accepted too but not advertised. */
const ASKED_SEVERITIES: readonly Severity[] = ['minor', 'major', 'critical'];

/**
 * Words real models use for severities (trial FR-109 answered "nit", which cost a repair turn).
 * Mapped to the nearest agreed severity, never upwards past what the word means.
 */
const SEVERITY_SYNONYMS: Readonly<Record<string, Severity>> = {
  nit: 'minor',
  nitpick: 'minor',
  trivial: 'minor',
  style: 'minor',
  suggestion: 'minor',
  note: 'minor',
  low: 'minor',
  warning: 'minor',
  // Between minor and major: major, unless the model approved (see APPROVED_MIDDLE).
  medium: 'major',
  moderate: 'major',
  high: 'major',
  error: 'major',
  blocker: 'critical',
  blocking: 'critical',
  severe: 'critical',
};

/**
 * The middle words of a low/medium/high scale, read as minor in an approving review: a model that
 * approves and calls a note "medium" has not said it blocks, and mapped to major it overturned the
 * approval and cost a whole round (relay trial cookie-es, a "consider running tsc in CI" note).
 */
const APPROVED_MIDDLE: ReadonlySet<string> = new Set(['medium', 'moderate']);

function severity(value: unknown, field: string, verdict: Verdict): Severity {
  const word = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (word !== undefined && SEVERITIES.includes(word as Severity)) return word as Severity;
  if (word !== undefined && verdict === 'approve' && APPROVED_MIDDLE.has(word)) return 'minor';
  const mapped = word !== undefined ? SEVERITY_SYNONYMS[word] : undefined;
  if (mapped) return mapped;
  throw new ReviewAnswerError(field, `must be one of ${ASKED_SEVERITIES.join(', ')} (got ${shown(value)})`);
}

/**
 * A finding's line. Models say "not applicable" in many ways (null, 0, "n/a", "none", "-") and
 * write lines as text ("12", "L12", "12-15"): those are read without a repair turn (a trial's
 * reviewer paid a whole turn for `"line": "n/a"`); only other kinds of value are refused.
 */
function lineOf(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  if (typeof value === 'string') {
    const digits = /^\s*(?:line\s*|l)?(\d+)/i.exec(value);
    if (!digits) return undefined;
    const n = Number(digits[1]);
    return n > 0 ? n : undefined;
  }
  throw new ReviewAnswerError(field, `must be a line number (an integer from 1) or absent (got ${shown(value)})`);
}

const LINE_IN_PATH = /^(.+?)(?::(\d+)(?:-\d+)?|#L(\d+)(?:-L?\d+)?)$/;

/**
 * A finding's file with its line written into it (`tests/a.test.js:347`, `a.js:12-20`, `a.js#L12`;
 * a relay trial's reviewer): kept whole, the path matched no file of the diff, and without a line
 * it read as a file the change misses, which a major finding blocks on. The path is the part before
 * the line, and the line is the finding's when it gives none. No note in the message, unlike a
 * severity's: nothing the model meant is lost, and a path in two messages made them read as one point.
 */
function lineInPath(file: string): { file: string; line: number } | undefined {
  const m = LINE_IN_PATH.exec(file.trim());
  const line = m ? Number(m[2] ?? m[3]) : 0;
  return m && line > 0 ? { file: m[1]!, line } : undefined;
}

function finding(value: unknown, at: string, verdict: Verdict): ModelFinding {
  if (!isObject(value)) throw new ReviewAnswerError(at, `must be an object (got ${shown(value)})`);
  noUnknownKeys(value, FINDING_KEYS, at);
  // An empty file means the finding is about the change as a whole.
  const written = text(value.file, `${at}.file`, { min: 0, max: 1000 });
  const split = lineInPath(written);
  const file = split ? split.file : written;
  const given = severity(value.severity, `${at}.severity`, verdict);
  const said = typeof value.severity === 'string' ? value.severity.trim() : '';
  // A word read as another severity keeps a trace of what the model said (a trial's "medium" became minor silently).
  const note = said.toLowerCase() !== given ? ` (severity given as "${said.slice(0, 30)}")` : '';
  const out: ModelFinding = {
    file,
    severity: given,
    message: `${text(value.message, `${at}.message`, { min: 1, max: 5000 })}${note}`,
  };
  const line = lineOf(value.line, `${at}.line`) ?? split?.line;
  if (line !== undefined) out.line = line;
  if (value.suggestion !== undefined && value.suggestion !== null) out.suggestion = text(value.suggestion, `${at}.suggestion`, { min: 0, max: 5000 });
  if (value.confidence !== undefined && value.confidence !== null) out.confidence = unit(value.confidence, `${at}.confidence`);
  return out;
}

/**
 * Verdicts in other vocabularies (GitHub's review states, a reviewer's slang), after case and `_`
 * or spaces became `-`: a relay trial's `changes_requested` cost a repair turn. Words with no clear
 * reading (`comment`, `maybe`) are still refused.
 */
const VERDICT_SYNONYMS: Readonly<Record<string, Verdict>> = {
  approved: 'approve',
  approves: 'approve',
  approval: 'approve',
  accept: 'approve',
  accepted: 'approve',
  lgtm: 'approve',
  'changes-requested': 'request-changes',
  'request-change': 'request-changes',
  'requested-changes': 'request-changes',
  'requests-changes': 'request-changes',
  'needs-changes': 'request-changes',
  'needs-work': 'request-changes',
  'changes-needed': 'request-changes',
  revise: 'request-changes',
  rejected: 'reject',
  rejects: 'reject',
  decline: 'reject',
  declined: 'reject',
};

function verdictOf(value: unknown): Verdict {
  const word =
    typeof value === 'string'
      ? value
          .trim()
          .toLowerCase()
          .replace(/[\s_]+/g, '-')
      : undefined;
  if (word !== undefined && VERDICTS.includes(word as Verdict)) return word as Verdict;
  const mapped = word !== undefined ? VERDICT_SYNONYMS[word] : undefined;
  if (mapped) return mapped;
  throw new ReviewAnswerError('verdict', `must be one of ${VERDICTS.join(', ')} (got ${shown(value)})`);
}

/** The review's JSON shape, as a repair turn repeats it. */
export const REVIEW_SHAPE =
  '{"verdict": "approve" | "request-changes" | "reject", "confidence": 0.0-1.0, "summary": "...", "findings": [{"file": "...", "line": 1, "severity": "minor" | "major" | "critical", "message": "...", "suggestion": "..."}]}';

/**
 * Checks the reviewer model's answer strictly: every field typed and bounded, no unknown field,
 * so a bad answer is caught here (and repaired once by the client) instead of deep in the review.
 */
export function parseReviewAnswer(value: unknown): ModelReview {
  if (!isObject(value)) throw new ReviewAnswerError('(answer)', `must be a JSON object (got ${shown(value)})`);
  noUnknownKeys(value, TOP_KEYS, '');
  const verdict = verdictOf(value.verdict);
  const confidence = unit(value.confidence, 'confidence');
  const summary = text(value.summary, 'summary', { min: 1, max: 10_000 });
  if (!Array.isArray(value.findings)) throw new ReviewAnswerError('findings', `must be a list (got ${shown(value.findings)})`);
  if (value.findings.length > MAX_MODEL_FINDINGS)
    throw new ReviewAnswerError('findings', `must hold at most ${MAX_MODEL_FINDINGS} findings (got ${value.findings.length})`);
  const findings = value.findings.map((f, i) => finding(f, `findings[${i}]`, verdict));
  // A word read as another verdict keeps a trace of what the model said, as a severity's does.
  const said = typeof value.verdict === 'string' ? value.verdict.trim() : '';
  const notes = [
    ...(said.toLowerCase() !== verdict ? [`verdict given as "${said.slice(0, 30)}"`] : []),
    // So is a confidence read as a percentage (rou3 re-run: nothing said that 90 became 0.90).
    ...(typeof value.confidence !== 'number' || value.confidence > 1 ? [`confidence given as ${shown(value.confidence)}`] : []),
  ];
  return { verdict, confidence, summary: notes.length > 0 ? `${summary} (${notes.join('; ')})` : summary, findings };
}
