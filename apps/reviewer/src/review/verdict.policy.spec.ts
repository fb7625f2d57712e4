import type { Finding, ModelReview } from './review.model.js';
import { decideVerdict } from './verdict.policy.js';

const review = (verdict: ModelReview['verdict'], confidence = 0.9): ModelReview => ({ verdict, confidence, summary: 's', findings: [] });
const f = (p: Partial<Finding>): Finding => ({
  file: 'a.js',
  line: 1,
  severity: 'major',
  message: 'm',
  blocking: false,
  source: 'model',
  confidence: 0.8,
  ...p,
});
const blockingCheck = f({ source: 'check', check: 'secrets', blocking: true, confidence: 1 });

describe('decideVerdict', () => {
  it('follows the model when nothing blocks', () => {
    expect(decideVerdict(review('approve'), [f({ severity: 'minor' })])).toMatchObject({ verdict: 'approve', confidence: 0.9 });
    expect(decideVerdict(review('request-changes', 0.6), [])).toMatchObject({ verdict: 'request-changes', confidence: 0.6 });
    expect(decideVerdict(review('reject', 0.7), [])).toMatchObject({ verdict: 'reject', confidence: 0.7 });
  });

  it('turns a blocking check finding into request-changes, whatever the model approved', () => {
    const out = decideVerdict(review('approve'), [blockingCheck]);
    expect(out).toEqual({ verdict: 'request-changes', confidence: 1, reason: '1 blocking check finding(s) (secrets)' });
  });

  it('rejects only if the model rejected too', () => {
    expect(decideVerdict(review('reject', 0.8), [blockingCheck])).toMatchObject({ verdict: 'reject', confidence: 0.8 });
    expect(decideVerdict(review('request-changes'), [blockingCheck]).verdict).toBe('request-changes');
  });

  it('does not let an approval stand next to a blocking model finding', () => {
    const out = decideVerdict(review('approve'), [f({ blocking: true, confidence: 0.75 })]);
    expect(out.verdict).toBe('request-changes');
    expect(out.confidence).toBe(0.75);
    expect(out.reason).toContain('the model approved, but 1 major or critical finding(s)');
  });

  it('decides from the checks alone when the model gave nothing', () => {
    expect(decideVerdict(undefined, [blockingCheck])).toMatchObject({ verdict: 'request-changes', confidence: 1 });
  });
});
