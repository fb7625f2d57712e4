import { PRIORITY_RANK, type Job } from './job.model.js';

export interface Limits {
  global: number;
  perRepo: number;
}

/**
 * Priority with ageing: every `ageingStepMs` of waiting lifts a job one class (critical is 0),
 * so an old low-priority job eventually goes before new high-priority ones. Ties: oldest first.
 */
export function effectiveRank(job: Job, nowMs: number, ageingStepMs: number): number {
  const waited = Math.max(0, nowMs - Date.parse(job.enqueuedAt));
  return PRIORITY_RANK[job.priority] - waited / ageingStepMs;
}

/** Which queued jobs to start now, in order, without exceeding the global and per-repo slots. */
export function pickJobs(jobs: readonly Job[], limits: Limits, nowMs: number, ageingStepMs: number): Job[] {
  const running = jobs.filter((j) => j.state === 'running');
  let free = limits.global - running.length;
  if (free <= 0) return [];
  const perRepo = new Map<string, number>();
  for (const j of running) perRepo.set(j.repo, (perRepo.get(j.repo) ?? 0) + 1);
  const queued = jobs
    .filter((j) => j.state === 'queued')
    .sort((a, b) => effectiveRank(a, nowMs, ageingStepMs) - effectiveRank(b, nowMs, ageingStepMs) || a.enqueuedAt.localeCompare(b.enqueuedAt));
  const picked: Job[] = [];
  for (const job of queued) {
    if (free <= 0) break;
    const used = perRepo.get(job.repo) ?? 0;
    if (used >= limits.perRepo) continue;
    picked.push(job);
    perRepo.set(job.repo, used + 1);
    free -= 1;
  }
  return picked;
}

/** Where a job stands in line (0 = next), for the queued event and the CLI. */
export function queuePosition(jobs: readonly Job[], jobId: string, nowMs: number, ageingStepMs: number): number {
  const queued = jobs.filter((j) => j.state === 'queued').sort((a, b) => effectiveRank(a, nowMs, ageingStepMs) - effectiveRank(b, nowMs, ageingStepMs));
  return Math.max(
    0,
    queued.findIndex((j) => j.jobId === jobId),
  );
}
