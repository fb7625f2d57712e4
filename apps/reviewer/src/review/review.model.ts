import type { ReviewFindingDto, Severity, Verdict } from '@agency/contracts';

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, minor: 1, major: 2, critical: 3 };

export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
}

/** A finding as the reviewer works with it: the wire fields plus where it came from. */
export interface Finding extends ReviewFindingDto {
  source: 'check' | 'model';
  /** The deterministic check that produced it (tests, diff, forbidden-paths, secrets, lint). */
  check?: string;
  /** Why the noise filter changed it (e.g. kept as non-blocking: outside the diff). */
  note?: string;
}

export interface CheckResult {
  id: 'tests' | 'diff' | 'forbidden-paths' | 'secrets' | 'lint';
  passed: boolean;
  /** One line saying what was checked and what came out. */
  detail: string;
  findings: Finding[];
  /** What a command printed (lint), bounded and with secrets redacted: kept in the report. */
  output?: string;
  /** Nothing was checked (no lint command configured): not a failure, but not a pass to rely on either. */
  notRun?: boolean;
}

export interface DroppedFinding {
  finding: Finding;
  reason: string;
}

/** The model's answer after validation. */
export interface ModelFinding {
  file: string;
  line?: number;
  severity: Severity;
  message: string;
  suggestion?: string;
  confidence?: number;
}

export interface ModelReview {
  verdict: Verdict;
  confidence: number;
  summary: string;
  findings: ModelFinding[];
}

/** Strips reviewer-internal fields: what travels in ReviewedEvent.findings. */
export function toDto(f: Finding): ReviewFindingDto {
  // Clipped to the contract's bounds: an oversized path must not make the reply unpublishable.
  const out: ReviewFindingDto = { file: f.file.slice(0, 1000), severity: f.severity, message: f.message.slice(0, 5000), blocking: f.blocking };
  if (f.line !== undefined) out.line = f.line;
  if (f.suggestion !== undefined) out.suggestion = f.suggestion.slice(0, 5000);
  if (f.confidence !== undefined) out.confidence = f.confidence;
  return out;
}
