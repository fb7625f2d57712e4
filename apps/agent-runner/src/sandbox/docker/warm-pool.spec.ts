import { WarmPool, type Poolable } from './warm-pool.js';

class Item implements Poolable {
  isGone = false;
  shutdowns = 0;
  private listeners: Array<(e: Error) => void> = [];
  constructor(readonly n: number) {}
  onGone(l: (e: Error) => void) {
    this.listeners.push(l);
  }
  die() {
    this.isGone = true;
    for (const l of this.listeners) l(new Error('gone'));
  }
  async shutdown() {
    this.shutdowns += 1;
  }
}

const flush = () => new Promise((r) => setImmediate(r));

describe('WarmPool', () => {
  it('keeps `size` items ready, hands one out and starts a replacement', async () => {
    let n = 0;
    const made: Item[] = [];
    const pool = new WarmPool<Item>({ size: 2, start: async () => made[made.push(new Item((n += 1))) - 1]!, onError: () => undefined });
    expect(pool.take()).toBeUndefined();
    await flush();
    expect(pool.readyCount).toBe(2);
    expect(pool.take()!.n).toBe(1);
    await flush();
    expect(pool.readyCount).toBe(2);
    expect(made).toHaveLength(3);
  });

  it('drops an item that died while waiting and refills', async () => {
    let n = 0;
    const made: Item[] = [];
    const pool = new WarmPool<Item>({ size: 1, start: async () => made[made.push(new Item((n += 1))) - 1]!, onError: () => undefined });
    pool.fill();
    await flush();
    made[0]!.die();
    await flush();
    expect(pool.take()!.n).toBe(2);
  });

  it('pauses after a failed start instead of retrying in a loop', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const pool = new WarmPool<Item>({
      size: 1,
      start: async () => {
        calls += 1;
        throw new Error('no such image');
      },
      onError: (e) => errors.push(e),
      retryDelayMs: 60_000,
    });
    pool.fill();
    await flush();
    pool.fill();
    expect(pool.take()).toBeUndefined();
    await flush();
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
    await pool.close();
  });

  it('close shuts every ready item down and any that arrives later', async () => {
    let release!: (item: Item) => void;
    const late = new Item(9);
    const first = new Item(1);
    let calls = 0;
    const pool = new WarmPool<Item>({
      size: 1,
      start: () => (calls++ === 0 ? Promise.resolve(first) : new Promise<Item>((r) => (release = r))),
      onError: () => undefined,
    });
    pool.fill();
    await flush();
    pool.take();
    await pool.close();
    release(late);
    await flush();
    expect(late.shutdowns).toBe(1);
    expect(first.shutdowns).toBe(0);
  });
});
