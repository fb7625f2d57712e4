// Test helpers for the saga's unit and property tests (not shipped: only spec files import it).
import type { Envelope, SagaState } from '@agency/contracts';
import { sampleEnvelope, sampleFr, sampleRepo, sampleStrategy } from '@agency/contracts/testing';
import type { Effect } from '../../src/saga/effects.js';
import type { Decision, MachineSettings, SagaEvent } from '../../src/saga/saga.machine.js';
import type { SagaRecord } from '../../src/saga/saga.model.js';

export const settings: MachineSettings = { now: new Date('2026-11-24T10:00:00Z'), stepMaxAttempts: 3, autoMergeAllowed: false, autoMergeMinConfidence: 0.85 };

export function record(state: SagaState, step: string, patch: Partial<SagaRecord> = {}): SagaRecord {
  return {
    sagaId: 'saga-1',
    frId: 'FR-1',
    run: 1,
    state,
    step,
    attempt: 1,
    attemptBase: 1,
    tries: { [step]: 1 },
    stepStartedAt: '2026-11-24T09:00:00Z',
    fr: sampleFr(),
    frPath: '10_features/04_in_progress/FR-1-greeting.md',
    repo: sampleRepo(),
    traceparent: `00-${'d'.repeat(32)}-${'e'.repeat(16)}-01`,
    traceId: 'd'.repeat(32),
    lap: 1,
    jobId: 'job-1',
    round: 0,
    reviews: [],
    lastFindings: [],
    costUsd: 0,
    priorCostUsd: 0,
    usageIds: [],
    history: [],
    seq: 3,
    outbox: [],
    createdAt: '2026-11-24T09:00:00Z',
    updatedAt: '2026-11-24T09:00:00Z',
    strategy: sampleStrategy(),
    ...patch,
  };
}

/** The event a service would send for the step the record waits on (job-1 unless `jobId` is given). */
export function ev<K extends SagaEvent['kind']>(
  kind: K,
  name: Parameters<typeof sampleEnvelope>[0],
  step: string,
  patch: Record<string, unknown> = {},
  attempt = 1,
  jobId = 'job-1',
): SagaEvent {
  const env = sampleEnvelope(name, { step, attempt, jobId }) as unknown as Envelope<Record<string, unknown>>;
  env.payload = { ...env.payload, ...patch };
  return { kind, env } as unknown as SagaEvent;
}

export const ids = (r: SagaRecord) => ({ sagaId: r.sagaId, step: r.step, attempt: r.attempt });

export function next(d: Decision): SagaRecord {
  if (d.kind === 'ignore') throw new Error(`ignored: ${d.reason}`);
  return d.next;
}

export function effects(d: Decision): Effect[] {
  if (d.kind === 'ignore') throw new Error(`ignored: ${d.reason}`);
  return d.effects;
}

/** The effects without their ids, for readable expectations. */
export function kinds(d: Decision): string[] {
  return effects(d).map((e) => (e.kind === 'step' ? `step ${e.step}#${e.attempt}` : e.kind));
}
