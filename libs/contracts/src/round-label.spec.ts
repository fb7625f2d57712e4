import { withoutRoundLabel } from './round-label.js';

describe('withoutRoundLabel', () => {
  it.each([
    ['Round 2: the end-of-path fallback', 'the end-of-path fallback'],
    ['Round 2 - the fallback', 'the fallback'],
    ['round 2 — the fallback', 'the fallback'],
    ['Round 2—the fallback', 'the fallback'],
    ['R2: the fallback', 'the fallback'],
    ['r2 – the fallback', 'the fallback'],
    ['ROUND 12: the fallback', 'the fallback'],
    ['Round 2. Fixed the fallback', 'Fixed the fallback'],
    ['Round 2 (after review): the fallback', 'the fallback'],
    ['**Round 2:** the fallback', 'the fallback'],
    ['**Round 2**: the fallback', 'the fallback'],
    ['\n  Round 2: the fallback\n\n- src/find.ts: more', 'the fallback\n\n- src/find.ts: more'],
  ])('drops the label of %j', (summary, expected) => {
    expect(withoutRoundLabel(summary)).toBe(expected);
  });

  it.each([
    'Rounded the totals to 2 decimals',
    'R2-compat: kept the old export',
    'Round 2.5 of the spec is now met',
    'Round trip of parse and stringify',
    'Fixed round 2 findings: the fallback',
    'Added R2 support',
  ])('keeps %j, which starts with no round label', (summary) => {
    expect(withoutRoundLabel(summary)).toBe(summary);
  });

  it('keeps a summary that is nothing but a label', () => {
    expect(withoutRoundLabel('Round 2:')).toBe('Round 2:');
  });
});
