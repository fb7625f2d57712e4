import { LiveSaver } from './live-saver.js';

describe('LiveSaver', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes the newest state at most once per interval, one write at a time', async () => {
    const writes: number[] = [];
    let state = 0;
    const saver = new LiveSaver(
      async () => void writes.push(state),
      2000,
      () => Date.now(),
    );
    state = 1;
    saver.poke();
    state = 2;
    saver.poke();
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([2]);
    state = 3;
    saver.poke();
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toEqual([2]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toEqual([2, 3]);
  });

  it('finish waits for the write in flight and drops a pending one, so a final write comes last', async () => {
    const writes: string[] = [];
    let release: () => void = () => undefined;
    const saver = new LiveSaver(
      () => new Promise<void>((r) => (release = () => (writes.push('partial'), r()))),
      2000,
      () => Date.now(),
    );
    saver.poke();
    await vi.advanceTimersByTimeAsync(0);
    saver.poke(); // pending behind the interval
    const finished = saver.finish();
    release();
    await finished;
    writes.push('final');
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes).toEqual(['partial', 'final']);
  });
});
