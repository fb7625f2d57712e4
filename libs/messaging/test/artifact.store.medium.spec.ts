import { BUCKETS } from '@agency/contracts';
import { startNatsServer, type NatsServerHandle } from '@agency/testing';
import { Objm } from '@nats-io/obj';
import { ArtifactStore, BusConnection } from '../src/index.js';

// The object-store client reads an object's chunks after looking the object up; a new version
// written in between purges those chunks and the read waited forever (a live transcript rewritten
// while the dashboard read it hung the request). Here the race is made certain: the chunks of the
// version being read are purged by hand, as a new version's put does.
describe('ArtifactStore reads against a real nats-server when an object is rewritten under the read', () => {
  const STALL_MS = 300;
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let artifacts: ArtifactStore;

  beforeAll(async () => {
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'artifact-store-test' });
    artifacts = new ArtifactStore(bus, STALL_MS);
  });

  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
  });

  const store = () => new Objm(bus.js).open(BUCKETS.artifacts);
  const stream = `OBJ_${BUCKETS.artifacts}`;
  /** Purges the chunks of the object's current version, leaving its description: what a put of a new version does under a read. */
  async function purgeChunks(key: string): Promise<void> {
    const info = await (await store()).info(key);
    await bus.jsm.streams.purge(stream, { filter: `$O.${BUCKETS.artifacts}.C.${info!.nuid}` });
  }
  const consumers = async () => (await bus.jsm.consumers.list(stream).next()).length;

  it('reads an object of one chunk whole without a consumer (the client left one per read for five minutes), and says plainly when there is none', async () => {
    const ref = await artifacts.putJson('t/whole.json', { entries: [1, 2, 3] });
    for (let i = 0; i < 5; i += 1) expect(JSON.parse(new TextDecoder().decode(await artifacts.get(ref)))).toEqual({ entries: [1, 2, 3] });
    expect((await artifacts.find('t/whole.json'))?.ref).toEqual(ref);
    expect(await artifacts.find('t/none.json')).toBeUndefined();
    const empty = await artifacts.put('t/empty.txt', '', 'text/plain');
    expect(await artifacts.get(empty)).toEqual(new Uint8Array());
    expect(await consumers()).toBe(0);
  });

  it('reads an object of many chunks through its stream, and the new version when the one it started on lost its chunks', async () => {
    const big = new Uint8Array(400_000).map((_, i) => i % 251);
    const ref = await artifacts.put('t/big.bin', big, 'application/octet-stream');
    expect(await artifacts.get(ref)).toEqual(big);
    await purgeChunks('t/big.bin');
    const read = artifacts.find('t/big.bin');
    const next = big.map((b) => 250 - b);
    await artifacts.put('t/big.bin', next, 'application/octet-stream');
    expect((await read)!.data).toEqual(next);
  });

  it('reads the new version when the one it started on lost its chunks, instead of waiting forever', async () => {
    await artifacts.putJson('t/live.json', { entries: [1], running: true });
    await purgeChunks('t/live.json');
    // The new version lands while the read waits for chunks that will not come.
    const read = artifacts.find('t/live.json');
    await artifacts.putJson('t/live.json', { entries: [1, 2], running: true });
    const found = await read;
    expect(JSON.parse(new TextDecoder().decode(found!.data))).toEqual({ entries: [1, 2], running: true });
  });

  it('fails naming the object when its chunks never come', async () => {
    await artifacts.putJson('t/broken.json', { entries: [1] });
    await purgeChunks('t/broken.json');
    await expect(artifacts.find('t/broken.json')).rejects.toThrow(/reading object t\/broken\.json stalled 3 times \(no data for 300 ms each\)/);
    await artifacts.put('t/broken.bin', new Uint8Array(300_000), 'application/octet-stream');
    await purgeChunks('t/broken.bin');
    await expect(artifacts.find('t/broken.bin')).rejects.toThrow(/reading object t\/broken\.bin stalled 3 times/);
  });
});
