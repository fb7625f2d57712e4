import type { ModelPrice } from '../config/llm-settings.js';
import type { LlmUsage } from '../providers/llm-provider.js';

/**
 * USD cost of one call. Input tokens include the cached ones (as OpenAI counts them); cached
 * tokens are charged at the cached price when the table has one, else at the input price.
 * Rounded to a billionth of a dollar so sums of many calls stay free of float noise.
 */
export function costUsd(usage: LlmUsage, price: ModelPrice): number {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const uncached = usage.inputTokens - cached;
  const micro = uncached * price.inputPerMtok + cached * (price.cachedInputPerMtok ?? price.inputPerMtok) + usage.outputTokens * price.outputPerMtok;
  return Math.round((micro / 1_000_000) * 1e9) / 1e9;
}
