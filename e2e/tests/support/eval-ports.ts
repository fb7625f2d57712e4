import { ephemeralLow, portState, randomFreePortBase } from '@agency/stack';

/**
 * A port base whose two eval stacks (base and base + 10, eight ports each, as `--concurrency 2`
 * uses them) are free, below the ephemeral range.
 */
export async function twoStackBase(): Promise<number> {
  const limit = ephemeralLow();
  for (;;) {
    const base = await randomFreePortBase();
    if (base + 18 > limit) continue;
    const states = await Promise.all(Array.from({ length: 8 }, (_, i) => portState(base + 10 + i)));
    if (states.every((s) => s === 'free')) return base;
  }
}
