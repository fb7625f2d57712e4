import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { HEADERS, Messages, STREAMS, type Envelope, type FrScoredEvent, type ScoreFrCommand } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { activeTraceId, createLogger, initTelemetry, withSpan, type Telemetry } from '@agency/telemetry';
import { expectEventually, readStream, startNatsServer, type NatsServerHandle } from '@agency/testing';
import { BusConnection, BusPublisher, Clock, JetStreamContext, JetStreamServer, OnMessage, PermanentError } from '../src/index.js';

interface Call {
  title: string;
  delivery: number;
  traceId?: string;
  sagaId: string;
}
const calls: Call[] = [];
const eventOrder: string[] = [];

// Behaviour chosen by the FR title, so one controller covers every case.
@Controller()
class RouterTestController {
  @OnMessage(Messages.ScoreFr.subject)
  async score(@Payload() env: Envelope<ScoreFrCommand>, @Ctx() ctx: JetStreamContext): Promise<void> {
    calls.push({ title: env.payload.fr.title, delivery: ctx.getDeliveryCount(), traceId: activeTraceId(), sagaId: env.sagaId });
    const title = env.payload.fr.title;
    if (title === 'always throws') throw new Error('scoring exploded');
    if (title === 'permanent') throw new PermanentError('this FR can never be scored', 'UNSCORABLE');
    if (title === 'throws once' && ctx.getDeliveryCount() === 1) throw new Error('transient hiccup');
    if (title === 'slow') await new Promise((r) => setTimeout(r, 3500));
  }
}

@Controller()
class OrchestratorTestController {
  @OnMessage(Messages.FrScored.subject)
  async scored(@Payload() env: Envelope<FrScoredEvent>): Promise<void> {
    // The first event of the saga is slow: order must still hold.
    if (env.payload.score === 1) await new Promise((r) => setTimeout(r, 300));
    eventOrder.push(`${env.sagaId}:${env.payload.score}`);
  }
}

@Module({ controllers: [RouterTestController] })
class RouterTestModule {}

@Module({ controllers: [OrchestratorTestController] })
class OrchestratorTestModule {}

describe('JetStream transport against a real nats-server', () => {
  let nats: NatsServerHandle;
  let telemetry: Telemetry;
  const spans = new InMemorySpanExporter();
  let bus: BusConnection;
  let publisher: BusPublisher;
  const apps: INestMicroservice[] = [];
  const logger = createLogger({ service: 'test', level: 'silent' });

  async function startService(service: 'router' | 'orchestrator'): Promise<INestMicroservice> {
    const conn = await BusConnection.connect({ servers: nats.url, name: `${service}-test` });
    const pub = new BusPublisher(conn, new Clock());
    const strategy = new JetStreamServer({
      service,
      bus: conn,
      publisher: pub,
      logger,
      concurrency: 4,
      maxDeliver: 3,
      ackWaitMs: 1000,
      backoff: { baseMs: 50, maxMs: 200 },
      shutdownGraceMs: 5000,
    });
    const app = await NestFactory.createMicroservice(service === 'router' ? RouterTestModule : OrchestratorTestModule, { strategy, logger: false });
    await app.listen();
    apps.push(app);
    const close = app.close.bind(app);
    app.close = async () => {
      await close();
      await conn.close();
    };
    return app;
  }

  function score(title: string, overrides: Partial<Envelope<ScoreFrCommand>> = {}) {
    const env = sampleEnvelope('ScoreFr', overrides);
    env.payload.fr.title = title;
    return env;
  }

  beforeAll(async () => {
    telemetry = initTelemetry({ serviceName: 'transport-test', env: {}, exporters: [spans] });
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'test-publisher' });
    publisher = new BusPublisher(bus, new Clock());
    await startService('router');
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close().catch(() => undefined);
    await bus?.close();
    await nats?.dispose();
    await telemetry?.shutdown();
  });

  beforeEach(() => {
    calls.length = 0;
  });

  const queued = async () => (await readStream(bus.js, STREAMS.commands.name)).length;
  /** Messages the router's durable has sent, first deliveries and redeliveries alike. */
  const deliveries = async () => (await bus.jsm.consumers.info(STREAMS.commands.name, 'router-cmd')).delivered.consumer_seq;

  /**
   * Waits until no delivery can still come and every one sent has been seen (instead of waiting
   * a while and hoping that was long enough): once the work queue is empty every message is acked
   * or terminated, so none can be sent again, and a marker published then is handled after
   * anything sent before it.
   */
  async function allDeliveriesSeen(marker: string): Promise<void> {
    await expectEventually(async () => expect(await queued()).toBe(0), { timeoutMs: 15_000, message: 'work queue drained' });
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', { sagaId: marker }));
    await expectEventually(() => expect(calls.filter((c) => c.sagaId === marker)).toHaveLength(1), { timeoutMs: 15_000, message: `marker ${marker} handled` });
  }

  it('acks a handled message once', async () => {
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', { sagaId: 'ok-1' }));
    await expectEventually(() => expect(calls.filter((c) => c.sagaId === 'ok-1')).toHaveLength(1));
    const info = await bus.jsm.streams.info(STREAMS.commands.name);
    await expectEventually(async () => expect((await bus.jsm.streams.info(STREAMS.commands.name)).state.messages).toBe(0), {
      message: `work queue drained (had ${info.state.messages})`,
    });
  });

  it('redelivers a handler that throws, then dead-letters it with its reason', async () => {
    await publisher.publishEnvelope(Messages.ScoreFr, score('always throws', { sagaId: 'throws-1' }));
    await expectEventually(() => expect(calls.filter((c) => c.sagaId === 'throws-1').map((c) => c.delivery)).toEqual([1, 2, 3]));
    const dead = await expectEventually(async () => {
      const all = await readStream(bus.js, STREAMS.deadLetters.name);
      const mine = all.filter((m) => m.text.includes('"throws-1"'));
      expect(mine).toHaveLength(1);
      return mine[0]!;
    });
    expect(dead.subject).toBe('agency.dlq.router.agency_cmd_router_score_v1');
    expect(dead.headers[HEADERS.deadLetterReason]).toBe('failed 3 times; last error: scoring exploded');
    expect(dead.headers[HEADERS.deadLetterDeliveries]).toBe('3');
    const notices = await expectEventually(async () => {
      const evts = (await readStream(bus.js, STREAMS.events.name, Messages.RouterDeadLettered.subject)).filter((m) => m.text.includes('"throws-1"'));
      expect(evts).toHaveLength(1);
      return evts;
    });
    expect(JSON.parse(notices[0]!.text).payload).toMatchObject({
      originalSubject: Messages.ScoreFr.subject,
      reason: 'failed 3 times; last error: scoring exploded',
      deliveries: 3,
    });
    await allDeliveriesSeen('marker-dead-letter');
    expect(calls.filter((c) => c.sagaId === 'throws-1')).toHaveLength(3);
  });

  it('retries a transient failure and then succeeds', async () => {
    await publisher.publishEnvelope(Messages.ScoreFr, score('throws once', { sagaId: 'once-1' }));
    await expectEventually(() => expect(calls.filter((c) => c.sagaId === 'once-1').map((c) => c.delivery)).toEqual([1, 2]));
  });

  it('dead-letters a PermanentError without a retry', async () => {
    const { streamSeq } = await publisher.publishEnvelope(Messages.ScoreFr, score('permanent', { sagaId: 'perm-1' }));
    const dead = await expectEventually(async () => {
      const mine = (await readStream(bus.js, STREAMS.deadLetters.name)).filter((m) => m.text.includes('"perm-1"'));
      expect(mine).toHaveLength(1);
      return mine[0]!;
    });
    expect(dead.headers[HEADERS.deadLetterReason]).toBe('PermanentError: this FR can never be scored');
    // Terminated: the work queue drops it (nats-server 2.9 ignored a term with a reason and
    // delivered it again after ack_wait).
    await expectEventually(async () => expect(await bus.jsm.streams.getMessage(STREAMS.commands.name, { seq: streamSeq })).toBeNull(), {
      message: 'the dead-lettered command removed from AGENCY_CMD',
    });
    expect(calls.filter((c) => c.sagaId === 'perm-1')).toHaveLength(1);
  });

  it('handles a message published twice with one id once', async () => {
    const env = score('fine', { sagaId: 'dup-1' });
    const first = await publisher.publishEnvelope(Messages.ScoreFr, env);
    const second = await publisher.publishEnvelope(Messages.ScoreFr, { ...env, id: '00000000-0000-4000-8000-ffffffffffff' });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    await expectEventually(() => expect(calls.filter((c) => c.sagaId === 'dup-1')).toHaveLength(1));
    await allDeliveriesSeen('marker-duplicate');
    expect(calls.filter((c) => c.sagaId === 'dup-1')).toHaveLength(1);
  });

  it('sends a malformed payload to the dead-letter stream without a retry, and tells the saga', async () => {
    const bad = score('fine', { sagaId: 'bad-1' }) as unknown as { payload: { fr: { priority: string } } };
    bad.payload.fr.priority = 'whenever';
    await bus.js.publish(Messages.ScoreFr.subject, JSON.stringify(bad), { msgID: 'bad-1' });
    await bus.js.publish(Messages.ScoreFr.subject, '{"not json', { msgID: 'bad-2' });
    const dead = await expectEventually(async () => {
      const all = await readStream(bus.js, STREAMS.deadLetters.name);
      const mine = all.filter((m) => m.text.includes('bad-1') || m.text.includes('{"not json'));
      expect(mine).toHaveLength(2);
      return mine;
    });
    const reasons = dead.map((d) => d.headers[HEADERS.deadLetterReason]).sort();
    expect(reasons[0]).toMatch(/^invalid router.score message: body is not valid JSON/);
    expect(reasons[1]).toMatch(/^invalid router.score message: payload\.fr\.priority: .*must be one of the following values/);
    expect(dead.every((d) => d.headers[HEADERS.deadLetterDeliveries] === '1')).toBe(true);
    expect(calls.filter((c) => c.sagaId === 'bad-1')).toHaveLength(0);
    // The intact one names its saga, so the saga hears about it; the unparseable one cannot.
    await expectEventually(async () => {
      const evts = (await readStream(bus.js, STREAMS.events.name, Messages.RouterDeadLettered.subject)).filter((m) => m.text.includes('"bad-1"'));
      expect(evts).toHaveLength(1);
    });
  });

  it('carries trace context across a publish and a consume', async () => {
    let publisherTrace = '';
    await withSpan('test publish', {}, async (span) => {
      publisherTrace = span.spanContext().traceId;
      await publisher.publishEnvelope(Messages.ScoreFr, score('fine', { sagaId: 'trace-1' }));
    });
    const call = await expectEventually(() => {
      const c = calls.find((x) => x.sagaId === 'trace-1');
      expect(c).toBeDefined();
      return c!;
    });
    expect(call.traceId).toBe(publisherTrace);
    await telemetry.flush();
    const names = spans
      .getFinishedSpans()
      .filter((s) => s.spanContext().traceId === publisherTrace)
      .map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['test publish', 'send agency.cmd.router.score.v1', 'process agency.cmd.router.score.v1']));
  });

  it('keeps a long handler alive with working() heartbeats instead of a redelivery', async () => {
    const before = await deliveries();
    await publisher.publishEnvelope(Messages.ScoreFr, score('slow', { sagaId: 'slow-1' }));
    await expectEventually(() => expect(calls.filter((c) => c.sagaId === 'slow-1')).toHaveLength(1));
    // ackWait is 1 s; the handler takes 3.5 s. Without heartbeats the server would deliver it again
    // (the transport would not run it twice, but the durable's count of deliveries shows it).
    await allDeliveriesSeen('marker-slow');
    expect((await deliveries()) - before).toBe(2);
    expect(calls.filter((c) => c.sagaId === 'slow-1').map((c) => c.delivery)).toEqual([1]);
  });

  it('handles events of one saga in order and resumes after a restart without losing messages', async () => {
    const orchestrator = await startService('orchestrator');
    const publishScored = (sagaId: string, score: number) => {
      const env = sampleEnvelope('FrScored', { sagaId, step: `route-${score}` });
      env.payload.score = score;
      return publisher.publishEnvelope(Messages.FrScored, env);
    };
    await publishScored('order-1', 1);
    await publishScored('order-1', 2);
    await publishScored('order-1', 3);
    await expectEventually(() => expect(eventOrder.filter((e) => e.startsWith('order-1'))).toEqual(['order-1:1', 'order-1:2', 'order-1:3']));

    await orchestrator.close();
    for (let i = 10; i < 20; i += 1) await publishScored('restart-1', i);
    await startService('orchestrator');
    await expectEventually(() => expect(eventOrder.filter((e) => e.startsWith('restart-1'))).toHaveLength(10));
    // Across a restart JetStream may redeliver a message the old consumer had pulled after the
    // rest (it waits out ack_wait), so the guarantee is "none lost", not order: the saga tolerates it.
    expect([...eventOrder.filter((e) => e.startsWith('restart-1'))].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `restart-1:${i + 10}`));
  });

  it('resumes consuming after nats-server itself restarts', async () => {
    await nats.stop('SIGKILL');
    await nats.restart();
    await expectEventually(
      async () => {
        await publisher.publishEnvelope(Messages.ScoreFr, score('fine', { sagaId: 'after-restart' }));
      },
      { timeoutMs: 20_000, message: 'publish after restart' },
    );
    await expectEventually(() => expect(calls.filter((c) => c.sagaId === 'after-restart').length).toBeGreaterThanOrEqual(1), { timeoutMs: 30_000 });
  });
});
