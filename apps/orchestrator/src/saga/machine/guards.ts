import type { SagaState } from '@agency/contracts';
import type { SagaRecord } from '../saga.model.js';
import { ignore, type Decision, type SagaEvent } from './decision.js';

interface Ids {
  step: string;
  attempt: number;
  jobId?: string;
}

/**
 * A result of the step the saga waits on counts from any attempt up to the current one (after a
 * re-drive the first attempt to finish wins), and only from the lap's own job: a late answer
 * of an earlier job (a cancelled one says JOB_CANCELLED) belongs to work the saga has left.
 */
export function matchesStep(r: SagaRecord, env: Ids): boolean {
  return env.step === r.step && env.attempt <= r.attempt && sameJob(r, env);
}

/** Failures must match the current attempt exactly: an old attempt failing says nothing about the new one. */
export function matchesAttempt(r: SagaRecord, env: Ids): boolean {
  return env.step === r.step && env.attempt === r.attempt && sameJob(r, env);
}

export function sameJob(r: SagaRecord, env: { jobId?: string }): boolean {
  return !env.jobId || !r.jobId || env.jobId === r.jobId;
}

export function stale(r: SagaRecord, e: SagaEvent, expected: SagaState[]): Decision {
  return ignore(`${e.kind} (step ${e.env.step}#${e.env.attempt}) does not apply in ${r.state} (step ${r.step}#${r.attempt}); expected ${expected.join('/')}`);
}
