import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUCKETS, SHARED_BUCKETS, ownedKey, type ServiceName } from '@agency/contracts';
import { BUS_ROLES, BUS_USERS, BusConnection, Clock, IdempotencyStore, KvStore, Lease, ONCE_TTL_MS, type Access, type KvBucketName } from '@agency/messaging';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import { generateNatsCredentials, natsPasswordEnv, renderNatsAuthorization, type NatsCredentials, type NatsPrincipal } from '../src/nats-auth.js';
import { startNats, type NatsProcess } from '../src/nats-process.js';
import { expectRefused as refused } from './support/refused.js';

// nats-server 2.9 with the agency's generated users: in a bucket several services write
// (agency-once, agency-leases) each service has its own key space `<service>.>`. Another
// service's keys cannot be written, deleted, purged, read or watched (the server's permission
// violation says so), and every service's own use of its buckets goes on as its code does it.

interface Entry {
  n: number;
}

describe('KV key spaces per service in shared buckets (nats-server 2.9)', () => {
  let dir: TempDir;
  let nats: NatsProcess;
  let creds: Record<NatsPrincipal, NatsCredentials>;
  const open: BusConnection[] = [];

  const as = async (user: NatsPrincipal): Promise<BusConnection> => {
    const bus = await BusConnection.connect({ servers: nats.url, name: `${user}-test`, user, password: creds[user].password });
    open.push(bus);
    return bus;
  };
  const once = (bus: BusConnection) => KvStore.open<Entry>(bus, BUCKETS.once, { ttl: ONCE_TTL_MS, history: 1 });
  const leases = (bus: BusConnection) => KvStore.open<Entry>(bus, BUCKETS.leases, { history: 1 });

  beforeAll(async () => {
    dir = tempDir('agency-kv-spaces-');
    creds = generateNatsCredentials();
    const configFile = join(dir.path, 'auth.conf');
    writeFileSync(configFile, renderNatsAuthorization());
    nats = await startNats(join(dir.path, 'js'), { configFile, env: natsPasswordEnv(creds) });
  });

  afterAll(async () => {
    for (const b of open) await b.close().catch(() => undefined);
    await nats?.stop('SIGKILL');
    dir?.remove();
  });

  it("refuses the reviewer the agent-runner's once-keys: put, create, delete, purge, read, watch; the key is left as it was", async () => {
    const runner = await once(await as('agent-runner'));
    const key = ownedKey('agent-runner', 'FR-1-r1_code-r1_1');
    const rev = await runner.create(key, { n: 1 });
    const reviewerBus = await as('reviewer');
    const reviewer = await once(reviewerBus);
    const subject = `$KV.${BUCKETS.once}.${key}`;
    await refused(reviewer.put(key, { n: 666 }), subject);
    // The client's create, refused its write, looks the key up to explain it: that read is refused too.
    await refused(
      reviewer.create(ownedKey('agent-runner', 'FR-2-r1_code-r1_1'), { n: 666 }),
      /^"(\$JS\.API\.DIRECT\.GET\.KV_agency-once\.)?\$KV\.agency-once\.agent-runner\.FR-2-r1_code-r1_1"$/,
    );
    expect(await runner.get(ownedKey('agent-runner', 'FR-2-r1_code-r1_1'))).toBeUndefined();
    await refused(reviewer.delete(key), subject);
    await refused(reviewer.erase(key), subject);
    await refused(reviewer.get(key), `$JS.API.DIRECT.GET.KV_${BUCKETS.once}.${subject}`);
    await refused(
      reviewer.watchPuts(
        'agent-runner.>',
        () => undefined,
        () => undefined,
      ),
      /^"\$JS\.API\.CONSUMER\.CREATE\.KV_agency-once\.\w+\.\$KV\.agency-once\.agent-runner\.>"$/,
    );
    // Nor around the key in the subject: limits that would expire it, a read by sequence.
    const info = await reviewerBus.jsm.streams.info(`KV_${BUCKETS.once}`);
    await refused(reviewerBus.jsm.streams.update(`KV_${BUCKETS.once}`, { ...info.config, max_age: 1_000_000_000 }), `$JS.API.STREAM.UPDATE.KV_${BUCKETS.once}`);
    await refused(reviewerBus.jsm.streams.getMessage(`KV_${BUCKETS.once}`, { seq: rev! }), `$JS.API.STREAM.MSG.GET.KV_${BUCKETS.once}`);
    await refused(reviewerBus.jsm.streams.purge(`KV_${BUCKETS.once}`, { filter: subject }), `$JS.API.STREAM.PURGE.KV_${BUCKETS.once}`);
    // Untouched: same value, same revision.
    expect(await runner.get(key)).toEqual({ value: { n: 1 }, revision: rev });
  });

  it("refuses the registry the orchestrator's lease, and the orchestrator the registry's", async () => {
    const [orchestratorBus, registryBus] = [await as('orchestrator'), await as('registry')];
    const orchestrator = new Lease(orchestratorBus, new Clock(), 'orchestrator', 'sweeper', 'orch-1', 60_000);
    const dispatcher = new Lease(registryBus, new Clock(), 'registry', 'dispatcher', 'reg-1', 60_000);
    expect(await orchestrator.acquire()).toBe(true);
    expect(await dispatcher.acquire()).toBe(true);
    const asRegistry = await leases(registryBus);
    const asOrchestrator = await leases(orchestratorBus);
    await refused(asRegistry.put('orchestrator.sweeper', { n: 1 }), `$KV.${BUCKETS.leases}.orchestrator.sweeper`);
    await refused(asRegistry.erase('orchestrator.sweeper'), `$KV.${BUCKETS.leases}.orchestrator.sweeper`);
    await refused(asOrchestrator.delete('registry.dispatcher'), `$KV.${BUCKETS.leases}.registry.dispatcher`);
    // Each still holds its own, untouched.
    expect(await orchestrator.acquire()).toBe(true);
    expect(await dispatcher.acquire()).toBe(true);
  });

  it('lets every service use each of its buckets as its code does, with its own credentials', async () => {
    for (const user of BUS_USERS) {
      for (const [bucket, access] of Object.entries(BUS_ROLES[user].kv ?? {}) as Array<[KvBucketName, Access]>) {
        const bus = await as(user);
        const shared = (SHARED_BUCKETS as readonly string[]).includes(bucket);
        const key = shared ? ownedKey(user as ServiceName, 'use.k') : 'use.k';
        const store = await KvStore.open<Entry>(bus, bucket, bucket === BUCKETS.once ? { ttl: ONCE_TTL_MS, history: 1 } : { history: 1 });
        if (access === 'read') {
          expect(await store.get(key), `${user} reads ${bucket}`).toBeUndefined();
          continue;
        }
        const seen: string[] = [];
        const stop = await store.watchPuts(
          shared ? `${user}.use.>` : 'use.>',
          (k) => seen.push(k),
          () => undefined,
        );
        const rev = await store.create(key, { n: 1 });
        expect(rev, `${user} creates in ${bucket}`).toBeGreaterThan(0);
        await store.update(key, { n: 2 }, rev!);
        expect((await store.get(key))?.value, `${user} reads back ${bucket}`).toEqual({ n: 2 });
        expect(await store.mutate(key, (v) => ({ n: (v?.n ?? 0) + 1 }))).toMatchObject({ value: { n: 3 } });
        expect(await store.keys(shared ? `${user}.>` : '>')).toContain(key);
        await expectEventually(() => expect(seen, `${user} watches ${bucket}`).toContain(key));
        stop();
        await store.erase(key);
        expect(await store.get(key)).toBeUndefined();
      }
    }
  });

  it("runs each writer's IdempotencyStore in its own key space, and honours a record of the shape before", async () => {
    const stores = (['agent-runner', 'reviewer', 'git-service'] as const).map((s) => ({ s, bus: as(s) }));
    for (const { s, bus } of stores) {
      const store = new IdempotencyStore(await bus, s);
      let runs = 0;
      const act = async () => (runs += 1);
      expect(await store.once('FR-9-r1:review-r1:1', act)).toEqual({ result: 1, replayed: false });
      expect(await store.once('FR-9-r1:review-r1:1', act)).toEqual({ result: 1, replayed: true });
      expect(runs).toBe(1);
      expect(store.keysOf('FR-9-r1:review-r1:1').key).toBe(`${s}.FR-9-r1_review-r1_1`);
    }
    // A record the version before wrote (one token), e.g. for a step in flight across the upgrade.
    const admin = await once(await as('admin'));
    await admin.put('agent-runner_FR-8-r1_code-r1_1', { result: 'done before', at: '2026-12-01T00:00:00Z' } as unknown as Entry);
    const runner = new IdempotencyStore(await as('agent-runner'), 'agent-runner');
    const again = await runner.once('FR-8-r1:code-r1:1', async () => 'done twice');
    expect(again).toEqual({ result: 'done before', replayed: true });
  });
});
