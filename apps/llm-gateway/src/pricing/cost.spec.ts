import { costUsd, targetPrice } from './cost.js';

describe('costUsd', () => {
  const price = targetPrice({ inputPerMtok: 3, outputPerMtok: 15 }, 'anthropic');

  it('prices input and output per million tokens', () => {
    expect(costUsd({ inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 1_000_000 }, price)).toBe(18);
    expect(costUsd({ inputTokens: 1200, cachedInputTokens: 0, outputTokens: 300 }, price)).toBe(0.0081);
    expect(costUsd({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }, price)).toBe(0);
  });

  it('charges cache reads and writes at their prices, the rest of the input at the input price', () => {
    // 200 plain at $3, 500 read at $0.3, 300 written at $3.75 per million.
    expect(costUsd({ inputTokens: 1000, cachedInputTokens: 500, cacheWriteInputTokens: 300, outputTokens: 0 }, price)).toBe(0.001875);
    expect(costUsd({ inputTokens: 1000, cachedInputTokens: 800, outputTokens: 0 }, { ...price, cachedInputPerMtok: 1 })).toBe(0.0014);
  });

  it("takes the vendor's cache ratios where llm.prices names no cache price", () => {
    expect(targetPrice({ inputPerMtok: 3, outputPerMtok: 15 }, 'anthropic')).toEqual({
      inputPerMtok: 3,
      outputPerMtok: 15,
      cachedInputPerMtok: 0.3,
      cacheWritePerMtok: 3.75,
    });
    expect(targetPrice({ inputPerMtok: 2, outputPerMtok: 8 }, 'openai')).toEqual({
      inputPerMtok: 2,
      outputPerMtok: 8,
      cachedInputPerMtok: 1,
      cacheWritePerMtok: 2,
    });
    expect(targetPrice({ inputPerMtok: 2, outputPerMtok: 8, cachedInputPerMtok: 0.2, cacheWritePerMtok: 2.5 }, 'openai')).toEqual({
      inputPerMtok: 2,
      outputPerMtok: 8,
      cachedInputPerMtok: 0.2,
      cacheWritePerMtok: 2.5,
    });
    expect(targetPrice({ inputPerMtok: 1, outputPerMtok: 1 }, 'scripted').cachedInputPerMtok).toBe(0.5);
  });

  it('never counts more cached or written tokens than input tokens', () => {
    expect(costUsd({ inputTokens: 10, cachedInputTokens: 50, outputTokens: 0 }, { ...price, cachedInputPerMtok: 1 })).toBe(0.00001);
    expect(
      costUsd({ inputTokens: 10, cachedInputTokens: 4, cacheWriteInputTokens: 50, outputTokens: 0 }, { ...price, cachedInputPerMtok: 1, cacheWritePerMtok: 2 }),
    ).toBe(0.000016);
  });

  it('rounds away float noise', () => {
    expect(costUsd({ inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 }, targetPrice({ inputPerMtok: 0.1, outputPerMtok: 0.2 }, 'openai'))).toBe(3e-7);
  });
});
