import type { Verdict } from '@agency/contracts';
import type { Finding, ModelReview } from './review.model.js';

export interface FinalVerdict {
  verdict: Verdict;
  confidence: number;
  /** Why this verdict, in one sentence, for the report and the summary. */
  reason: string;
}

/**
 * A blocking check finding decides without the model: request-changes (reject only if the
 * model rejects too), with full confidence since the check is certain. Otherwise the model's
 * verdict stands, except that an approval cannot stand next to a blocking finding.
 */
export function decideVerdict(model: ModelReview | undefined, kept: readonly Finding[]): FinalVerdict {
  const checkBlocking = kept.filter((f) => f.source === 'check' && f.blocking);
  if (checkBlocking.length > 0) {
    const checks = [...new Set(checkBlocking.map((f) => f.check ?? 'check'))].join(', ');
    if (model?.verdict === 'reject')
      return {
        verdict: 'reject',
        confidence: model.confidence,
        reason: `the model rejected the change, and ${checkBlocking.length} check finding(s) block it (${checks})`,
      };
    return { verdict: 'request-changes', confidence: 1, reason: `${checkBlocking.length} blocking check finding(s) (${checks})` };
  }
  if (!model) return { verdict: 'request-changes', confidence: 0, reason: 'no model review and no blocking check: nothing can approve the change' };
  const blocking = kept.filter((f) => f.blocking);
  if (model.verdict === 'approve' && blocking.length > 0) {
    const confidence = Math.max(...blocking.map((f) => f.confidence ?? model.confidence));
    return {
      verdict: 'request-changes',
      confidence,
      reason: `the model approved, but ${blocking.length} major or critical finding(s) on changed lines block the approval`,
    };
  }
  return { verdict: model.verdict, confidence: model.confidence, reason: `the model's verdict (${model.verdict})` };
}
