import { Messages, validateMessage } from '@agency/contracts';
import { sampleEnvelope, sampleFr, sampleRepo, sampleStrategy, sampleWorkspace } from '@agency/contracts/testing';
import type { SagaRecord } from './saga.model.js';
import { stepCommand } from './saga.steps.js';

function testing(patch: Partial<SagaRecord> = {}): SagaRecord {
  return {
    sagaId: 'saga-1', frId: 'FR-1', run: 1, state: 'testing', step: 'test-r1', attempt: 1, stepStartedAt: '2026-11-24T09:00:00Z',
    fr: sampleFr(), frPath: '10_features/04_in_progress/FR-1-greeting.md', repo: sampleRepo(), workspace: sampleWorkspace(),
    traceparent: `00-${'d'.repeat(32)}-${'e'.repeat(16)}-01`, traceId: 'd'.repeat(32), round: 1, reviews: [], lastFindings: [],
    costUsd: 0, history: [], createdAt: '2026-11-24T09:00:00Z', updatedAt: '2026-11-24T09:00:00Z', strategy: sampleStrategy(), ...patch,
  };
}

describe('stepCommand: the test step', () => {
  it("carries the tier's sandbox limits to the tester, as a valid command", () => {
    const cmd = stepCommand(testing({ strategy: { ...sampleStrategy(), sandbox: { memoryMb: 1024, pids: 256 } } }), undefined)!;
    expect(cmd.def).toBe(Messages.Test);
    expect(cmd.payload).toMatchObject({ round: 1, sandbox: { memoryMb: 1024, pids: 256 } });
    const env = { ...sampleEnvelope('Test', { step: 'test-r1' }), payload: cmd.payload };
    expect(validateMessage(Messages.Test, env).ok).toBe(true);
  });

  it('leaves the limits out when the tier sets none (the runner keeps its defaults)', () => {
    expect(stepCommand(testing(), undefined)!.payload).not.toHaveProperty('sandbox');
  });

  it('refuses limits out of range with an error naming the field', () => {
    const env = { ...sampleEnvelope('Test', { step: 'test-r1' }), payload: { ...stepCommand(testing(), undefined)!.payload, sandbox: { memoryMb: 8 } } };
    const checked = validateMessage(Messages.Test, env);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.message).toContain('sandbox.memoryMb');
  });
});
