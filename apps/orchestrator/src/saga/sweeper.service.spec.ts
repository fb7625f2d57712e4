import { sampleFr, sampleRepo } from '@agency/contracts/testing';
import type { SagaState } from '@agency/contracts';
import type { SagaRecord } from './saga.model.js';
import { overdue } from './sweeper.service.js';

const T = Date.parse('2026-11-24T10:00:00Z');
const rec = (state: SagaState, startedAgoS: number, beatAgoS?: number): SagaRecord =>
  ({
    state, step: 'x', attempt: 1, stepStartedAt: new Date(T - startedAgoS * 1000).toISOString(),
    ...(beatAgoS !== undefined ? { lastHeartbeatAt: new Date(T - beatAgoS * 1000).toISOString() } : {}),
    fr: sampleFr(), repo: sampleRepo(),
  }) as SagaRecord;

describe('overdue', () => {
  it('flags a quiet step and a step past its deadline', () => {
    expect(overdue(rec('planning', 200), T, 180_000, 3600_000)).toBe('was quiet for 200 s');
    expect(overdue(rec('testing', 4000, 5), T, 180_000, 3600_000)).toBe('ran past its 3600 s deadline');
  });

  it('keeps a step alive while it heartbeats', () => {
    expect(overdue(rec('coding', 900, 10), T, 180_000, 3600_000)).toBeUndefined();
  });

  it('never times out waiting on a person, the queue or a finished saga', () => {
    for (const state of ['queued', 'awaiting-plan-approval', 'awaiting-merge', 'done', 'failed'] as SagaState[]) {
      expect(overdue(rec(state, 99_999), T, 1, 1)).toBeUndefined();
    }
  });
});
