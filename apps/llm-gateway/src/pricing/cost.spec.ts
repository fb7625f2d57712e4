import { costUsd } from './cost.js';

describe('costUsd', () => {
  const price = { inputPerMtok: 3, outputPerMtok: 15 };

  it('prices input and output per million tokens', () => {
    expect(costUsd({ inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 1_000_000 }, price)).toBe(18);
    expect(costUsd({ inputTokens: 1200, cachedInputTokens: 0, outputTokens: 300 }, price)).toBe(0.0081);
    expect(costUsd({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }, price)).toBe(0);
  });

  it('charges cached input at the cached price, or the input price without one', () => {
    const usage = { inputTokens: 1000, cachedInputTokens: 800, outputTokens: 0 };
    expect(costUsd(usage, { ...price, cachedInputPerMtok: 0.3 })).toBe(0.00084);
    expect(costUsd(usage, price)).toBe(0.003);
  });

  it('never counts more cached tokens than input tokens', () => {
    expect(costUsd({ inputTokens: 10, cachedInputTokens: 50, outputTokens: 0 }, { ...price, cachedInputPerMtok: 1 })).toBe(0.00001);
  });

  it('rounds away float noise', () => {
    expect(costUsd({ inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 }, { inputPerMtok: 0.1, outputPerMtok: 0.2 })).toBe(3e-7);
  });
});
