import type { Priority } from '@agency/contracts';
import type { Job } from './job.model.js';
import { effectiveRank, pickJobs, queuePosition } from './queue-policy.js';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const STEP = 10 * 60_000;
let n = 0;
function job(priority: Priority, ageMs: number, patch: Partial<Job> = {}): Job {
  n += 1;
  return {
    jobId: `job-${n}`,
    frId: `FR-${n}`,
    sagaId: `s${n}`,
    repo: 'a/b',
    priority,
    tier: 't',
    state: 'queued',
    enqueuedAt: new Date(T0 - ageMs).toISOString(),
    dispatches: 0,
    ...patch,
  };
}

describe('queue policy', () => {
  it('dispatches a high-priority job before many older low ones', () => {
    const lows = Array.from({ length: 20 }, (_, i) => job('low', 60_000 + i * 1000));
    const high = job('high', 0);
    expect(pickJobs([...lows, high], { global: 1, perRepo: 5 }, T0, STEP)[0]).toBe(high);
  });

  it('lets an old low-priority job overtake new high-priority ones (ageing)', () => {
    const old = job('low', 3 * STEP);
    const fresh = Array.from({ length: 5 }, () => job('high', 0));
    expect(effectiveRank(old, T0, STEP)).toBeLessThan(effectiveRank(fresh[0]!, T0, STEP));
    expect(pickJobs([...fresh, old], { global: 1, perRepo: 5 }, T0, STEP)[0]).toBe(old);
  });

  it('respects the global and per-repository limits', () => {
    const running = [job('medium', 0, { state: 'running' }), job('medium', 0, { state: 'running', repo: 'c/d' })];
    const queued = [job('critical', 0), job('critical', 0), job('low', 0, { repo: 'e/f' })];
    const picked = pickJobs([...running, ...queued], { global: 4, perRepo: 2 }, T0, STEP);
    expect(picked).toEqual([queued[0], queued[2]]);
    expect(pickJobs([...running, ...queued], { global: 2, perRepo: 2 }, T0, STEP)).toEqual([]);
  });

  it('breaks ties by age and reports positions', () => {
    const a = job('medium', 5000);
    const b = job('medium', 9000);
    expect(pickJobs([a, b], { global: 1, perRepo: 1 }, T0, STEP)).toEqual([b]);
    expect(queuePosition([a, b], a.jobId, T0, STEP)).toBe(1);
    expect(queuePosition([a, b], b.jobId, T0, STEP)).toBe(0);
  });
});
