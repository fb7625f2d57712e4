import { jobIdOf } from '../saga.model.js';
import { ignore, QUEUE_STEP, type Decision, type EventOf, type Transition } from './decision.js';
import { matchesStep, stale } from './guards.js';

/** Routing and the queue: the score picks the tier, the registry gives the lap's job a slot. */
export function onScored(t: Transition, e: EventOf<'scored'>): Decision {
  const r = t.record;
  if (r.state !== 'discovered' || !matchesStep(r, e.env)) return stale(r, e, ['discovered']);
  const p = e.env.payload;
  return t.to(
    'routed',
    QUEUE_STEP,
    { score: p.score, strategy: p.strategy, jobId: jobIdOf(r.sagaId, r.lap), released: false },
    {
      log: `routed: score ${p.score}, tier ${p.tier} (${p.reasons.map((x) => `${x.feature} ${x.points}`).join(', ')})`,
    },
  );
}

export function onQueued(t: Transition, e: EventOf<'queued'>): Decision {
  const r = t.record;
  if (r.state !== 'routed' || r.step !== QUEUE_STEP) return stale(r, e, ['routed']);
  if (e.env.payload.jobId !== r.jobId) return ignore(`queued event of job ${e.env.payload.jobId}; this lap's job is ${r.jobId}`);
  return t.to('queued', QUEUE_STEP, {}, { log: `queued as ${e.env.payload.jobId} (position ${e.env.payload.position})` });
}

/** The lap's job got its slot: plan (a first lap), or go back to where a retry or a review round resumes. */
export function onDispatched(t: Transition, e: EventOf<'dispatched'>): Decision {
  const r = t.record;
  if ((r.state !== 'routed' && r.state !== 'queued') || r.step !== QUEUE_STEP) return stale(r, e, ['routed', 'queued']);
  if (e.env.payload.jobId !== r.jobId) return ignore(`dispatch of job ${e.env.payload.jobId}; this lap's job is ${r.jobId}`);
  const waited = `dispatched after ${Math.round(e.env.payload.waitedMs / 1000)} s in the queue`;
  const resume = r.resume;
  if (resume) {
    return t.to(
      resume.state,
      resume.step,
      { round: resume.round, resume: undefined },
      { attempt: resume.attempt, resumed: true, log: `${waited}; resuming ${resume.state} at ${resume.step} (attempt ${resume.attempt})` },
    );
  }
  return t.to('planning', 'plan', {}, { log: `${waited}; planning` });
}
