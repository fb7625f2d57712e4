import type { ReviewedEvent, Severity, StepFailedEvent, Verdict } from '@agency/contracts';
import type { ForbiddenPattern } from '../checks/forbidden-paths.check.js';
import type { TruncatedDiff } from '../llm/review-prompt.builder.js';
import type { ParsedDiff } from '../diff/unified-diff.parser.js';
import type { CheckResult, DroppedFinding, Finding, ModelReview } from './review.model.js';

/** What the step produced: the event to reply with, or a failure the saga must decide about. */
export type ReviewOutcome = { kind: 'reviewed'; event: ReviewedEvent } | { kind: 'failed'; failure: StepFailedEvent };

/** The outcome as the report keeps it: the event without its own reference. */
export type StoredOutcome = { kind: 'reviewed'; event: Omit<ReviewedEvent, 'report'> } | { kind: 'failed'; failure: StepFailedEvent };

export const REPORT_VERSION = 1;

/** review-r<n>.json: everything needed to explain a verdict after the fact. */
export interface ReviewReport {
  version: typeof REPORT_VERSION;
  frId: string;
  sagaId: string;
  step: string;
  attempt: number;
  round: number;
  reviewedAt: string;
  outcome: StoredOutcome;
  verdict?: { final: Verdict; confidence: number; reason: string; model?: { verdict: Verdict; confidence: number } };
  inputs: {
    diff: {
      key: string;
      bytes: number;
      parseError?: string;
      files: { path: string; oldPath?: string; status: string; binary: boolean; added: number; removed: number }[];
    };
    plan: { key: string };
    tests: { passed: boolean; counts: { total: number; passed: number; failed: number; skipped: number }; report: string };
  };
  settings: {
    minSeverity: Severity;
    minConfidence: number;
    maxDiffBytes: number;
    maxPromptDiffBytes: number;
    forbiddenPatterns: ForbiddenPattern[];
    lockFilesAllowed: boolean;
    source: string;
  };
  checks: CheckResult[];
  rules: { applied: string[]; skipped: { id: string; reason: string }[] };
  model: {
    alias: string;
    /** Why the model was not asked: a deterministic check already blocks the change. */
    skipped?: string;
    promptBytes?: number;
    /** Secret-looking values replaced in the diff before it went to the model. */
    redactedSecrets?: number;
    promptDiff?: Omit<TruncatedDiff, 'text'>;
    respondedModel?: string;
    repaired?: boolean;
    /** Why each refused answer could not be used, when the model was asked again. */
    repairProblems?: string[];
    inputTokens?: number;
    outputTokens?: number;
    /** The answer exactly as the model gave it (the repaired one, if repaired). */
    rawAnswer?: string;
    parsed?: ModelReview;
    error?: { code: string; message: string };
  };
  findings: { kept: Finding[]; dropped: DroppedFinding[] };
}

export function reportKey(frId: string, sagaId: string, round: number): string {
  return `${frId}/${sagaId}/review-r${round}.json`;
}

export function diffFilesSummary(diff: ParsedDiff | undefined): ReviewReport['inputs']['diff']['files'] {
  return (diff?.files ?? []).map((f) => ({
    path: f.path,
    ...(f.oldPath ? { oldPath: f.oldPath } : {}),
    status: f.status,
    binary: f.binary,
    added: f.added.length,
    removed: f.removed.length,
  }));
}
