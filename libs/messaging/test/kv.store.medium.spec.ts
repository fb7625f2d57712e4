import { startNatsServer, type NatsServerHandle } from '@agency/testing';
import { BusConnection, KvStore } from '../src/index.js';

describe('KvStore against a real nats-server: listing and erasing keys', () => {
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let store: KvStore<{ n: number }>;

  beforeAll(async () => {
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'kv-store-test' });
    store = await KvStore.open<{ n: number }>(bus, 'kv-store-test', { history: 5 });
  });

  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
  });

  const consumers = async () => (await bus.jsm.consumers.list('KV_kv-store-test').next()).length;

  it('lists the keys under a filter without leaving a consumer behind, however often it is asked', async () => {
    for (let i = 0; i < 5; i += 1) await store.put(`saga.s${i}`, { n: i });
    await store.put('saga.s1', { n: 11 });
    await store.put('fr.FR-1', { n: 0 });
    for (let i = 0; i < 20; i += 1) expect((await store.keys('saga.>')).sort()).toEqual(['saga.s0', 'saga.s1', 'saga.s2', 'saga.s3', 'saga.s4']);
    expect((await store.values('saga.>')).map((v) => [v.key, v.value.n]).sort()).toEqual([
      ['saga.s0', 0],
      ['saga.s1', 11],
      ['saga.s2', 2],
      ['saga.s3', 3],
      ['saga.s4', 4],
    ]);
    // The client's own listing made an ordered consumer per call, which stayed for minutes.
    expect(await consumers()).toBe(0);
  });

  it('erases a key with its history: it is neither read nor given as a value, one marker is all that is left, and it can be created again', async () => {
    await store.put('saga.gone', { n: 1 });
    await store.put('saga.gone', { n: 2 });
    await store.erase('saga.gone');
    expect(await store.get('saga.gone')).toBeUndefined();
    expect((await store.values('saga.>')).map((v) => v.key)).not.toContain('saga.gone');
    const info = await bus.jsm.streams.info('KV_kv-store-test', { subjects_filter: '$KV.kv-store-test.saga.gone' });
    expect(info.state.subjects).toEqual({ '$KV.kv-store-test.saga.gone': 1 });
    expect(await store.create('saga.gone', { n: 3 })).toBeGreaterThan(0);
    // A deleted (not erased) key is not listed as holding a value.
    await store.delete('saga.s4');
    expect((await store.values('saga.>')).map((v) => v.key)).not.toContain('saga.s4');
  });
});
