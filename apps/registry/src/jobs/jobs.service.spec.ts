import { Lease, type BusConnection, type BusPublisher, type Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import type { RegistryConfig } from '../registry.config.js';
import type { Job } from './job.model.js';
import type { JobRepository } from './job.repository.js';
import { JobsService } from './jobs.service.js';
import type { LimitsRepository } from './limits.repository.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const HOUR = 3600_000;

function job(jobId: string, state: Job['state'], finishedAgoH?: number): Job {
  return {
    jobId,
    frId: 'FR-1',
    sagaId: jobId,
    repo: 'a/b',
    priority: 'medium',
    tier: 't',
    state,
    enqueuedAt: new Date(NOW - 500 * HOUR).toISOString(),
    dispatches: 1,
    ...(finishedAgoH !== undefined ? { finishedAt: new Date(NOW - finishedAgoH * HOUR).toISOString() } : {}),
  };
}

describe('JobsService: dispatching from live jobs, archiving finished ones', () => {
  afterEach(() => vi.restoreAllMocks());

  function rig(stored: Job[], days: Record<string, string[]>, marks: string[] = []) {
    const jobs = new Map(stored.map((j) => [j.jobId, j]));
    const erased: string[] = [];
    const dropped: string[] = [];
    const all = vi.fn();
    // The service lists nothing for its own work: neither a listing of the bucket nor the stored jobs.
    const repo = {
      live: async () => [...jobs.values()].filter((j) => j.state === 'queued' || j.state === 'running'),
      stored: all,
      get: async (id: string) => (jobs.has(id) ? { value: jobs.get(id)!, revision: 1 } : undefined),
      finishedOn: async (day: string) => days[day] ?? [],
      erase: async (id: string) => void erased.push(id),
      dropDay: async (day: string) => void dropped.push(day),
      finishedDays: async () => Object.keys(days).sort(),
      archivedThrough: async () => marks.at(-1),
      markArchivedThrough: async (day: string) => void marks.push(day),
      getControl: async () => undefined,
      buildIndex: async () => 0,
      mutate: async () => undefined,
    } as unknown as JobRepository;
    vi.spyOn(Lease.prototype, 'acquire').mockResolvedValue(true);
    const service = new JobsService(
      repo,
      { current: () => ({ global: 1, perRepo: 1 }) } as LimitsRepository,
      {} as BusPublisher,
      { nowMs: () => NOW, now: () => new Date(NOW) } as Clock,
      { DISPATCH_INTERVAL_MS: 1000, AGEING_STEP_MS: 600_000, JOB_RETENTION_HOURS: 24 } as RegistryConfig,
      {} as BusConnection,
      createLogger({ service: 'test', level: 'silent' }),
    );
    return { service, erased, dropped, all, marks };
  }

  it('archives the jobs finished before the retention, day by day, never a live or a recent one, and never lists every job', async () => {
    const { service, erased, dropped, all } = rig(
      [job('job-old', 'succeeded', 50), job('job-old-2', 'cancelled', 49), job('job-retried', 'running'), job('job-recent', 'failed', 2)],
      { '2026-11-22': ['job-old', 'job-old-2', 'job-retried', 'job-gone'], '2026-11-24': ['job-recent'] },
    );
    await service.dispatch();
    expect(erased).toEqual(['job-old', 'job-old-2']);
    expect(dropped).toEqual(['2026-11-22']);
    expect(all).not.toHaveBeenCalled();
    // At most every ten minutes: a second pass right after does not look again.
    await service.dispatch();
    expect(dropped).toEqual(['2026-11-22']);
  });

  it('catches up on every day since its last pass, however long the registry was down (it looked a week back only)', async () => {
    const { service, erased, dropped, marks } = rig(
      [job('job-month-old', 'succeeded', 24 * 30), job('job-old', 'succeeded', 50)],
      { '2026-10-25': ['job-month-old'], '2026-11-22': ['job-old'] },
      ['2026-10-20'],
    );
    await service.dispatch();
    expect(erased).toEqual(['job-month-old', 'job-old']);
    expect(dropped).toEqual(['2026-10-25', '2026-11-22']);
    expect(marks.at(-1)).toBe('2026-11-22');
  });
});
