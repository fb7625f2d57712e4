import type { JobOutcome, Priority } from '@agency/contracts';

export type JobState = 'queued' | 'running' | JobOutcome;

export interface Job {
  jobId: string;
  frId: string;
  sagaId: string;
  repo: string;
  priority: Priority;
  tier: string;
  state: JobState;
  enqueuedAt: string;
  dispatchedAt?: string;
  finishedAt?: string;
  /** Times this job was dispatched; the dispatched event's attempt. */
  dispatches: number;
  reason?: string;
  /** The FR's trace at enqueue time: a dispatch started by a timer still lands in the FR's trace. */
  traceparent?: string;
}

/** One id per saga: enqueueing the same saga twice finds the same job. */
export function jobIdFor(sagaId: string): string {
  return `job-${sagaId}`;
}

export const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, medium: 2, low: 3 };
