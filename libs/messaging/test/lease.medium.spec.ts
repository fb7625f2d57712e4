import { BUCKETS } from '@agency/contracts';
import { expectEventually, startNatsServer, type NatsServerHandle } from '@agency/testing';
import { BusConnection, Clock, KvStore, Lease } from '../src/index.js';

/** Time that moves only when the test says so; both replicas read the same one. */
class ManualClock extends Clock {
  constructor(private ms = 1_700_000_000_000) {
    super();
  }
  override nowMs(): number {
    return this.ms;
  }
  override now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const TTL = 5_000;

describe('Lease against a real nats-server: one holder, failover when it lapses', () => {
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let clock: ManualClock;
  let names = 0;

  /** Two (or more) replicas contending for a lease of their own, so tests do not share state. */
  const replicas = (...holders: string[]) => {
    names += 1;
    return holders.map((h) => new Lease(bus, clock, 'registry', `test-lease-${names}`, h, TTL));
  };
  const leases = () => KvStore.open<{ holder: string; expiresAt: number }>(bus, BUCKETS.leases, { history: 1 });
  const holderOf = async (lease: Lease) => (await (await leases()).get(lease.key))?.value;

  beforeAll(async () => {
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'lease-test' });
  });

  beforeEach(() => {
    clock = new ManualClock();
  });

  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
  });

  it('gives a free lease to exactly one of two replicas asking at the same moment', async () => {
    const [a, b] = replicas('a', 'b');
    const got = await Promise.all([a!.acquire(), b!.acquire()]);
    expect(got.filter(Boolean)).toHaveLength(1);
    const winner = got[0] ? 'a' : 'b';
    expect(await holderOf(a!)).toEqual({ holder: winner, expiresAt: clock.nowMs() + TTL });
  });

  it('keeps the lease with a holder that renews, however long past the first TTL', async () => {
    const [a, b] = replicas('a', 'b');
    expect(await a!.acquire()).toBe(true);
    expect(await b!.acquire()).toBe(false);
    for (let i = 0; i < 5; i += 1) {
      clock.advance(TTL * 0.6);
      expect(await a!.acquire()).toBe(true);
      clock.advance(TTL * 0.6);
      // Past the expiry of every renewal but the last one: still a's.
      expect(await b!.acquire()).toBe(false);
    }
    expect(await holderOf(a!)).toMatchObject({ holder: 'a' });
  });

  it('passes to the standby once the holder stops renewing and the TTL has run out, not before', async () => {
    const [a, b] = replicas('a', 'b');
    expect(await a!.acquire()).toBe(true);
    clock.advance(TTL - 1);
    expect(await b!.acquire()).toBe(false);
    clock.advance(1);
    // expiresAt is exclusive: at exactly the expiry the lease is free.
    expect(await b!.acquire()).toBe(true);
    expect(await holderOf(a!)).toEqual({ holder: 'b', expiresAt: clock.nowMs() + TTL });
    // The old holder coming back finds it taken and does not steal it back.
    expect(await a!.acquire()).toBe(false);
    expect(await b!.acquire()).toBe(true);
  });

  it('lets exactly one of several standbys take a lapsed lease', async () => {
    const [a, b, c] = replicas('a', 'b', 'c');
    expect(await a!.acquire()).toBe(true);
    clock.advance(TTL + 1);
    const got = await Promise.all([b!.acquire(), c!.acquire()]);
    expect(got.filter(Boolean)).toHaveLength(1);
    expect((await holderOf(a!))?.holder).toBe(got[0] ? 'b' : 'c');
  });

  it('hands the lease over at once when the holder releases it', async () => {
    const [a, b] = replicas('a', 'b');
    expect(await a!.acquire()).toBe(true);
    expect(await b!.acquire()).toBe(false);
    await a!.release();
    // Same instant: no TTL to wait for.
    expect(await b!.acquire()).toBe(true);
    expect(await a!.acquire()).toBe(false);
  });

  it('ignores a release by a replica that does not hold the lease', async () => {
    const [a, b] = replicas('a', 'b');
    expect(await a!.acquire()).toBe(true);
    await b!.release();
    expect(await holderOf(a!)).toEqual({ holder: 'a', expiresAt: clock.nowMs() + TTL });
    expect(await b!.acquire()).toBe(false);
  });

  it("lives in its owner's key space, and defers to a holder of the version before (`<owner>-<name>`) until that one lapses", async () => {
    const [a, b] = replicas('a', 'b');
    expect(a!.key).toBe(`registry.${a!.name}`);
    // An old replica renewing the lease where the version before kept it.
    const old = await leases();
    await old.put(a!.legacyKey, { holder: 'old', expiresAt: clock.nowMs() + TTL });
    expect(await a!.acquire()).toBe(false);
    expect(await b!.acquire()).toBe(false);
    expect(await holderOf(a!)).toBeUndefined();
    // The old replica stopped renewing: the lease passes to the new key space.
    clock.advance(TTL);
    expect(await a!.acquire()).toBe(true);
    expect(await holderOf(a!)).toEqual({ holder: 'a', expiresAt: clock.nowMs() + TTL });
    // An old record of this very holder (upgraded in place) does not lock it out.
    await old.put(a!.legacyKey, { holder: 'a', expiresAt: clock.nowMs() + TTL });
    expect(await a!.acquire()).toBe(true);
  });

  it('fails over on the real clock: the standby polls and takes over after the holder goes quiet', async () => {
    const ttl = 1_500;
    const name = `test-lease-real-${Date.now()}`;
    const a = new Lease(bus, new Clock(), 'registry', name, 'a', ttl);
    const b = new Lease(bus, new Clock(), 'registry', name, 'b', ttl);
    expect(await a.acquire()).toBe(true);
    const firstTtlEnds = Date.now() + ttl;
    // a renews as a service would, well inside the TTL, while b keeps asking.
    let renewing = true;
    let lastRenewal = 0;
    const renewals = (async () => {
      while (renewing) {
        lastRenewal = Date.now();
        expect(await a.acquire()).toBe(true);
        await new Promise((r) => setTimeout(r, ttl / 5));
      }
    })();
    const until = Date.now() + 2 * ttl;
    let standbyTook = false;
    let askedPastFirstTtl = 0;
    while (Date.now() < until && !standbyTook) {
      standbyTook = await b.acquire();
      if (Date.now() > firstTtlEnds) askedPastFirstTtl += 1;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(standbyTook).toBe(false);
    // b asked after the first TTL would have run out without renewals: the window proved something.
    expect(askedPastFirstTtl).toBeGreaterThan(0);
    renewing = false;
    await renewals;
    await expectEventually(async () => expect(await b.acquire()).toBe(true), { timeoutMs: 10 * ttl, message: 'the standby takes the lapsed lease' });
    // Not before the last renewal's TTL ran out.
    expect(Date.now()).toBeGreaterThanOrEqual(lastRenewal + ttl);
    expect(await a.acquire()).toBe(false);
  });
});
