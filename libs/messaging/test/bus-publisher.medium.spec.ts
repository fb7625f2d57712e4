import { Messages, STREAMS, type Envelope, type LlmUsageEvent } from '@agency/contracts';
import { readStream, startNatsServer, type NatsServerHandle } from '@agency/testing';
import { contextFromTraceparent, initTelemetry, type Telemetry } from '@agency/telemetry';
import { BusConnection, BusPublisher, Clock, ContractError, ensureStreams } from '../src/index.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('BusPublisher.publishBatch against a real nats-server', () => {
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let publisher: BusPublisher;
  let telemetry: Telemetry;
  const clock = new Clock();

  beforeAll(async () => {
    // Registers the W3C propagator that writes traceparent headers.
    telemetry = initTelemetry({ serviceName: 'bus-publisher-test', env: {} });
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'bus-publisher-test' });
    await ensureStreams(bus.jsm);
    publisher = new BusPublisher(bus, clock);
  });

  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
    await telemetry?.shutdown();
  });

  const usage = (frId: string, outputTokens: number): Envelope<LlmUsageEvent> => ({
    id: clock.uuid(),
    type: Messages.LlmUsage.type,
    version: Messages.LlmUsage.version,
    frId,
    sagaId: frId,
    step: 'llm',
    attempt: 1,
    occurredAt: clock.now().toISOString(),
    payload: { alias: 'coder', provider: 'p', model: 'm', inputTokens: 3, cachedInputTokens: 0, outputTokens, costUsd: 0.001, latencyMs: 2, status: 'ok' },
  });

  it('stores each valid message once with its own trace context, and settles each on its own', async () => {
    const first = usage('FR-1', 5);
    const items = [
      { envelope: first, msgId: 'u-1', trace: contextFromTraceparent(TRACEPARENT) },
      { envelope: usage('FR-2', 6), msgId: 'u-2' },
      { envelope: first, msgId: 'u-1' },
      { envelope: usage('FR-3', -1), msgId: 'u-3' },
    ];
    const results = await publisher.publishBatch(Messages.LlmUsage, items);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const [a, b, again] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    expect([a!.duplicate, b!.duplicate, again!.duplicate]).toEqual([false, false, true]);
    expect(again!.streamSeq).toBe(a!.streamSeq);
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(ContractError);

    const stored = await readStream(bus.js, STREAMS.events.name, Messages.LlmUsage.subject);
    expect(stored.map((m) => (JSON.parse(m.text) as Envelope<LlmUsageEvent>).frId)).toEqual(['FR-1', 'FR-2']);
    expect(stored[0]!.headers).toMatchObject({ 'Nats-Msg-Id': 'u-1', traceparent: expect.stringMatching(/^00-0af7651916cd43dd8448eb211c80319c-/) });
  });

  it('fails the messages of a batch that the server does not answer, so they can be sent again', async () => {
    await nats.stop('SIGKILL');
    try {
      const results = await publisher.publishBatch(Messages.LlmUsage, [{ envelope: usage('FR-4', 1), msgId: 'u-4' }]);
      expect(results[0]!.status).toBe('rejected');
    } finally {
      await nats.restart();
    }
  }, 30_000);
});
