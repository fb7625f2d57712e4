import { randomUUID } from 'node:crypto';
import { Messages, type Envelope, type LlmUsageEvent } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { expectEventually } from '@agency/testing';
import { OrchestratorHarness } from './support/orchestrator-harness.js';

/**
 * Exactly-once accounting (issue 13 item 10): a usage event the orchestrator handled but never
 * acked (a crash of the service or of nats-server) comes again as the same envelope. Here it is
 * published again under another Nats-Msg-Id, so JetStream delivers it a second time as a
 * redelivery would, to the real orchestrator on a real nats-server.
 */
describe('exactly-once accounting of model usage under redeliveries (real nats-server)', () => {
  let h: OrchestratorHarness;

  beforeAll(async () => {
    h = await OrchestratorHarness.start();
    await expectEventually(async () => expect((await h.sagas.currentRun('FR-001'))?.value.sagaId).toBe('FR-001-r1'));
  });

  afterAll(async () => {
    await h?.stop();
  });

  const usage = (costUsd: number): Envelope<LlmUsageEvent> => {
    const env = sampleEnvelope('LlmUsage', { frId: 'FR-001', sagaId: 'FR-001-r1', step: 'plan', attempt: 1 });
    return { ...env, id: randomUUID(), payload: { ...env.payload, costUsd } };
  };
  const cost = async () => (await h.sagas.get('FR-001-r1'))?.value.costUsd;

  it('adds each usage event once per event id, however often it is delivered', async () => {
    const first = usage(0.25);
    await h.publisher.publishEnvelope(Messages.LlmUsage, first, { msgId: 'usage-a' });
    await expectEventually(async () => expect(await cost()).toBe(0.25));
    // The same event twice more, as redeliveries after crashes would bring it.
    await h.publisher.publishEnvelope(Messages.LlmUsage, first, { msgId: 'usage-a-redelivered-1' });
    await h.publisher.publishEnvelope(Messages.LlmUsage, first, { msgId: 'usage-a-redelivered-2' });
    // Then a new event: one saga's events are handled in arrival order, so once it counts the repeats were handled.
    await h.publisher.publishEnvelope(Messages.LlmUsage, usage(0.5), { msgId: 'usage-b' });
    await expectEventually(async () => expect(await cost()).toBeGreaterThanOrEqual(0.75));
    expect(await cost()).toBe(0.75);
    expect((await h.sagas.get('FR-001-r1'))?.value.usageIds).toEqual([first.id, expect.any(String)]);
    // The FR file carries the total once too.
    await expectEventually(async () => expect((await h.list()).sagas.find((s) => s.frId === 'FR-001')).toMatchObject({ costUsd: 0.75 }));
  });
});
