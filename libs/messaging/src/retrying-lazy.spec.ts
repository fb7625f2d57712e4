import { describe, expect, it } from 'vitest';
import { RetryingLazy } from './retrying-lazy.js';

describe('RetryingLazy', () => {
  it('makes the value once and shares it', async () => {
    let made = 0;
    const lazy = new RetryingLazy(async () => ++made);
    expect(await Promise.all([lazy.get(), lazy.get(), lazy.get()])).toEqual([1, 1, 1]);
    expect(await lazy.get()).toBe(1);
    expect(made).toBe(1);
  });

  it('forgets a failed attempt so the next call tries again', async () => {
    let calls = 0;
    const lazy = new RetryingLazy(async () => {
      calls += 1;
      if (calls === 1) throw new Error('timeout');
      return 'open';
    });
    await expect(lazy.get()).rejects.toThrow('timeout');
    expect(await lazy.get()).toBe('open');
    expect(await lazy.get()).toBe('open');
    expect(calls).toBe(2);
  });
});
