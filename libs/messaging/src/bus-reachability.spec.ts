import { BusReachability } from './bus-reachability.js';

describe('BusReachability', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  it('is ok while connected', () => {
    expect(new BusReachability(5000, clock).check()).toBe('ok');
  });

  it('stays ok through a loss shorter than the grace, and says how long once it is longer', () => {
    const r = new BusReachability(5000, clock);
    r.lost();
    now += 4999;
    expect(r.check()).toBe('ok');
    now += 1;
    expect(r.check()).toBe('unreachable for 5 s (reconnecting)');
    now += 7000;
    expect(r.check()).toBe('unreachable for 12 s (reconnecting)');
  });

  it('counts an outage from its first loss, not from later ones (a stale connection after a disconnect)', () => {
    const r = new BusReachability(5000, clock);
    r.lost();
    now += 4000;
    r.lost();
    now += 1000;
    expect(r.check()).toMatch(/^unreachable for 5 s/);
  });

  it('is ok again once restored, and a new outage starts its own clock', () => {
    const r = new BusReachability(5000, clock);
    r.lost();
    now += 10_000;
    r.restored();
    expect(r.check()).toBe('ok');
    r.lost();
    now += 4999;
    expect(r.check()).toBe('ok');
  });
});
