import { SocketWrites } from './socket-writes.js';

const turnEnds = () => new Promise((resolve) => setImmediate(resolve));

describe('SocketWrites', () => {
  it('carries out the writes of one turn together at its end, in the order they were deferred', async () => {
    const writes = new SocketWrites();
    const done: string[] = [];
    writes.defer(() => done.push('a'));
    // A write deferred from a callback later in the same turn (an I/O callback, a promise) joins the burst.
    await Promise.resolve();
    writes.defer(() => done.push('b'));
    process.nextTick(() => writes.defer(() => done.push('c')));
    expect(done).toEqual([]);
    await turnEnds();
    expect(done).toEqual(['a', 'b', 'c']);
    expect(writes.pending).toBe(0);
  });

  it('starts a new burst for writes deferred while one is carried out', async () => {
    const writes = new SocketWrites();
    const done: string[] = [];
    writes.defer(() => {
      done.push('first');
      writes.defer(() => done.push('next turn'));
    });
    await turnEnds();
    expect(done).toEqual(['first']);
    await turnEnds();
    expect(done).toEqual(['first', 'next turn']);
  });

  it('carries out the other writes when one throws, and reports the failure', async () => {
    const failures: unknown[] = [];
    const writes = new SocketWrites((e) => failures.push(e));
    const done: string[] = [];
    writes.defer(() => done.push('a'));
    writes.defer(() => {
      throw new Error('write after end');
    });
    writes.defer(() => done.push('c'));
    await turnEnds();
    expect(done).toEqual(['a', 'c']);
    expect(failures).toEqual([new Error('write after end')]);
  });
});
