import { existsSync, readFileSync } from 'node:fs';
import { portState, randomFreePortBase } from '@agency/stack';

/**
 * The first port the kernel may hand out to an outgoing connection: a stack listening above it
 * can find one of its ports taken between the check and the bind (the machine is shared).
 */
function ephemeralLow(): number {
  const file = '/proc/sys/net/ipv4/ip_local_port_range';
  const low = existsSync(file) ? Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]) : NaN;
  return Number.isFinite(low) ? low : 32_768;
}

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
