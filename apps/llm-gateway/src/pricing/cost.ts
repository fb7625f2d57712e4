import type { ModelPrice } from '../config/llm-settings.js';
import type { LlmUsage } from '../providers/llm-provider.js';

/** Every price of a target, the cache prices filled in. USD per million tokens. */
export type TargetPrice = Required<ModelPrice>;

/**
 * What the vendors charge for prompt-cache reads and writes, as a share of the input price, when
 * llm.prices does not say: Anthropic reads at 0.1x and writes (5-minute cache) at 1.25x; OpenAI
 * reads at 0.5x and charges nothing extra for writing. OpenAI-compatible servers and the scripted
 * provider speak OpenAI's wire format and get OpenAI's ratios.
 */
export const CACHE_PRICE_RATIOS: Record<'anthropic' | 'openai', { read: number; write: number }> = {
  anthropic: { read: 0.1, write: 1.25 },
  openai: { read: 0.5, write: 1 },
};

/** The configured price with the cache prices of the provider's wire type where none are configured. */
export function targetPrice(price: ModelPrice, wireType: string): TargetPrice {
  const ratio = CACHE_PRICE_RATIOS[wireType === 'anthropic' ? 'anthropic' : 'openai'];
  // 3 * 0.1 is 0.30000000000000004 in floating point: keep the price people would write.
  const share = (r: number) => Math.round(price.inputPerMtok * r * 1e9) / 1e9;
  return {
    inputPerMtok: price.inputPerMtok,
    outputPerMtok: price.outputPerMtok,
    cachedInputPerMtok: price.cachedInputPerMtok ?? share(ratio.read),
    cacheWritePerMtok: price.cacheWritePerMtok ?? share(ratio.write),
  };
}

/**
 * USD cost of one call. Input tokens include the ones read from and written to the prompt cache
 * (as OpenAI counts them): reads are charged at the cached price, writes at the cache-write price,
 * the rest at the input price. Rounded to a billionth of a dollar so sums of many calls stay free
 * of float noise.
 */
export function costUsd(usage: LlmUsage, price: TargetPrice): number {
  const read = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const write = Math.min(usage.cacheWriteInputTokens ?? 0, usage.inputTokens - read);
  const plain = usage.inputTokens - read - write;
  const micro = plain * price.inputPerMtok + read * price.cachedInputPerMtok + write * price.cacheWritePerMtok + usage.outputTokens * price.outputPerMtok;
  return Math.round((micro / 1_000_000) * 1e9) / 1e9;
}
