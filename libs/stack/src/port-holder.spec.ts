import { ephemeralLow, randomFreePortBase } from './port-holder.js';

describe('randomFreePortBase', () => {
  it("picks a base whose eight ports lie below the kernel's ephemeral range (a port there was taken between check and bind)", async () => {
    const low = ephemeralLow();
    expect(low).toBeGreaterThan(20_100);
    for (let i = 0; i < 20; i++) {
      const base = await randomFreePortBase();
      expect(base).toBeGreaterThanOrEqual(20_000);
      expect(base + 8).toBeLessThan(low);
      expect(base % 10).toBe(0);
    }
  });
});
