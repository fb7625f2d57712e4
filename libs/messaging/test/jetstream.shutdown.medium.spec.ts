import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Messages, STREAMS, type Envelope, type ScoreFrCommand } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { createLogger } from '@agency/telemetry';
import { expectEventually, readStream, startNatsServer, type NatsServerHandle } from '@agency/testing';
import { BusConnection, BusPublisher, Clock, JetStreamContext, JetStreamServer, MessagingModule, OnMessage } from '../src/index.js';

/** What each handler call saw, and which run of the service made it. */
interface Call {
  sagaId: string;
  generation: number;
  delivery: number;
  startedAt: number;
  finishedAt?: number;
}
const calls: Call[] = [];
let generation = 0;
let instances = 0;

const SLOW_MS = 1500;
const ACK_WAIT_MS = 1000;

@Controller()
class SlowRouterController {
  @OnMessage(Messages.ScoreFr.subject)
  async score(@Payload() env: Envelope<ScoreFrCommand>, @Ctx() ctx: JetStreamContext): Promise<void> {
    const call: Call = { sagaId: env.sagaId, generation, delivery: ctx.getDeliveryCount(), startedAt: Date.now() };
    calls.push(call);
    if (env.payload.fr.title === 'slow') await new Promise((r) => setTimeout(r, SLOW_MS));
    if (env.payload.fr.title === 'starves') {
      // A starved event loop: no heartbeat can go out for two ack-wait periods, so JetStream delivers the message again meanwhile.
      const until = Date.now() + ACK_WAIT_MS * 2;
      while (Date.now() < until) {
        /* busy */
      }
      await new Promise((r) => setTimeout(r, ACK_WAIT_MS));
    }
    call.finishedAt = Date.now();
  }
}

@Module({ controllers: [SlowRouterController] })
class SlowRouterModule {}

interface Running {
  app: NestFastifyApplication;
  transport: JetStreamServer;
}

describe('JetStream transport: graceful shutdown with a handler mid-run', () => {
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let publisher: BusPublisher;
  const running: Running[] = [];
  const logger = createLogger({ service: 'test', level: 'silent' });

  /**
   * The router as runService composes it: a hybrid Nest app whose MessagingModule owns the NATS
   * connection (drained by its shutdown hook) with the JetStream transport connected to it.
   * app.close() is what the SIGTERM hook of enableShutdownHooks calls.
   */
  async function startRouter(options: { concurrency?: number; shutdownGraceMs?: number } = {}): Promise<Running> {
    generation += 1;
    instances += 1;
    @Module({ imports: [MessagingModule.forRoot({ service: 'router', natsUrl: nats.url, instanceId: `shutdown-test-${instances}` }), SlowRouterModule] })
    class RootModule {}
    const app = await NestFactory.create<NestFastifyApplication>(RootModule, new FastifyAdapter(), { logger: false, abortOnError: false });
    const transport = new JetStreamServer({
      service: 'router',
      bus: app.get(BusConnection),
      publisher: app.get(BusPublisher),
      logger,
      concurrency: options.concurrency ?? 4,
      maxDeliver: 5,
      ackWaitMs: ACK_WAIT_MS,
      backoff: { baseMs: 50, maxMs: 200 },
      shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
    });
    app.connectMicroservice({ strategy: transport }, { inheritAppConfig: false });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    const r = { app, transport };
    running.push(r);
    return r;
  }

  function score(title: string, sagaId: string): Envelope<ScoreFrCommand> {
    const env = sampleEnvelope('ScoreFr', { sagaId });
    env.payload.fr.title = title;
    return env;
  }

  const callsOf = (sagaId: string) => calls.filter((c) => c.sagaId === sagaId);
  const queued = async () => (await readStream(bus.js, STREAMS.commands.name)).map((m) => (JSON.parse(m.text) as Envelope<object>).sagaId);

  const ackPending = async () => (await bus.jsm.consumers.info(STREAMS.commands.name, 'router-cmd')).num_ack_pending;
  const deliveries = async () => (await bus.jsm.consumers.info(STREAMS.commands.name, 'router-cmd')).delivered.consumer_seq;

  /**
   * Waits until no delivery can still come and every one sent has been seen: once the work queue is
   * empty every message is acked (none can be sent again), and a marker published then is
   * delivered after any redelivery sent before it, so once the marker is handled the loop has taken
   * them all. (Instead of waiting a few ack-wait periods and hoping that was long enough.)
   */
  async function allDeliveriesSeen(marker: string): Promise<void> {
    await expectEventually(async () => expect(await queued()).toEqual([]), { timeoutMs: 15_000, message: 'work queue drained' });
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', marker));
    await expectEventually(() => expect(callsOf(marker).filter((c) => c.finishedAt !== undefined)).toHaveLength(1), {
      timeoutMs: 15_000,
      message: `marker ${marker} handled`,
    });
  }

  /** Closes every running instance and forgets their calls, so each test starts from an idle durable. */
  async function stopAll(): Promise<void> {
    for (const r of running.splice(0).reverse()) await r.app.close().catch(() => undefined);
    calls.length = 0;
    generation = 0;
  }

  beforeAll(async () => {
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'shutdown-test-publisher' });
    publisher = new BusPublisher(bus, new Clock());
  });

  afterEach(stopAll);

  afterAll(async () => {
    await stopAll();
    await bus?.close();
    await nats?.dispose();
  });

  it('waits for the running handler, acks its message once, and loses nothing published during the close', async () => {
    const first = await startRouter();
    await publisher.publishEnvelope(Messages.ScoreFr, score('slow', 'mid-run'));
    await expectEventually(() => expect(callsOf('mid-run')).toHaveLength(1), { message: 'slow handler started' });
    expect(callsOf('mid-run')[0]!.finishedAt).toBeUndefined();

    // SIGTERM: the hook of enableShutdownHooks calls app.close().
    let closedAt: number | undefined;
    const closing = first.app.close().then(() => (closedAt = Date.now()));
    await expectEventually(() => expect(first.transport.running).toBe(false), { timeoutMs: 5000, message: 'transport closing' });
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', 'during-close'));
    await closing;

    // close() returned only after the handler had finished, and no handler of the closing
    // service took the message published while it was closing.
    const slow = callsOf('mid-run')[0]!;
    expect(slow.finishedAt, 'the slow handler finished').toBeDefined();
    expect(closedAt!).toBeGreaterThanOrEqual(slow.finishedAt!);
    expect(slow.finishedAt! - slow.startedAt).toBeGreaterThanOrEqual(SLOW_MS - 50);
    expect(callsOf('during-close')).toEqual([]);
    expect(bus.connected, 'the test publisher is still connected').toBe(true);

    // The commands stream is a work queue: an acked message is gone from it at once. The one
    // published during the close is still there, waiting for the next consumer.
    await expectEventually(async () => expect(await queued()).toEqual(['during-close']), {
      timeoutMs: 3000,
      message: 'only the message published during the close left in the queue',
    });

    // Restart on the same durable: the message published during the close is handled; the one
    // acked during the close is not delivered again, even after several ack-wait periods.
    await startRouter();
    await expectEventually(() => expect(callsOf('during-close')).toHaveLength(1), {
      timeoutMs: 15_000,
      message: 'message published during the close handled after restart',
    });
    expect(callsOf('during-close')[0]!.generation).toBe(2);
    await allDeliveriesSeen('marker-1');
    expect(callsOf('mid-run').map((c) => ({ generation: c.generation, delivery: c.delivery }))).toEqual([{ generation: 1, delivery: 1 }]);
    expect(callsOf('during-close')).toHaveLength(1);
  });

  it('finishes the running handler but does not start a message still waiting for a slot: the next consumer gets it', async () => {
    // One slot: while the first handler runs, the second message waits in the consumer for it.
    const first = await startRouter({ concurrency: 1 });
    await publisher.publishEnvelope(Messages.ScoreFr, score('slow', 'holds-slot'));
    await publisher.publishEnvelope(Messages.ScoreFr, score('slow', 'waits-for-slot'));
    await expectEventually(() => expect(callsOf('holds-slot')).toHaveLength(1), { message: 'first handler started' });
    await expectEventually(async () => expect(await ackPending()).toBe(2), { message: 'second message pulled' });

    let closedAt: number | undefined;
    await first.app.close().then(() => (closedAt = Date.now()));
    const running = callsOf('holds-slot')[0]!;
    expect(running.finishedAt, 'the running handler finished').toBeDefined();
    expect(closedAt!).toBeGreaterThanOrEqual(running.finishedAt!);
    expect(callsOf('waits-for-slot'), 'a closing service starts no new message').toEqual([]);

    await startRouter({ concurrency: 1 });
    await expectEventually(() => expect(callsOf('waits-for-slot').filter((c) => c.finishedAt !== undefined)).toHaveLength(1), {
      timeoutMs: 15_000,
      message: 'waiting message handled after restart',
    });
    await allDeliveriesSeen('marker-2');
    expect(callsOf('holds-slot').map((c) => c.generation)).toEqual([1]);
    expect(callsOf('waits-for-slot').map((c) => c.generation)).toEqual([2]);
  });

  it('keeps messages that wait for a slot longer than ack_wait: each is delivered and handled once', async () => {
    await startRouter({ concurrency: 2 });
    await publisher.publishEnvelope(Messages.ScoreFr, score('slow', 'busy'));
    await publisher.publishEnvelope(Messages.ScoreFr, score('slow', 'busy-2'));
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', 'patient'));
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', 'patient-2'));
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', 'patient-3'));
    // The slow handlers hold both slots for 1.5 ack-wait periods while three messages wait: one taken by the loop, the rest on the server.
    const waiting = ['patient', 'patient-2', 'patient-3'];
    await expectEventually(() => expect(waiting.every((id) => callsOf(id).some((c) => c.finishedAt !== undefined))).toBe(true), {
      timeoutMs: 10_000,
      message: 'waiting messages handled',
    });
    await allDeliveriesSeen('marker-3');
    expect(callsOf('patient').map((c) => c.delivery)).toEqual([1]);
    expect(callsOf('patient-2').map((c) => c.delivery)).toEqual([1]);
    expect(callsOf('patient-3').map((c) => c.delivery)).toEqual([1]);
    expect(callsOf('busy').map((c) => c.delivery)).toEqual([1]);
    expect(callsOf('busy-2').map((c) => c.delivery)).toEqual([1]);
    // Both slow ones ran at once: one message at a time from the server still fills every slot.
    expect(Math.abs(callsOf('busy')[0]!.startedAt - callsOf('busy-2')[0]!.startedAt)).toBeLessThan(SLOW_MS / 2);
  });

  it('runs a message once when its heartbeats starve past ack_wait while it runs (JetStream delivers it again meanwhile)', async () => {
    await startRouter({ concurrency: 1 });
    const before = await deliveries();
    await publisher.publishEnvelope(Messages.ScoreFr, score('starves', 'starved'));
    await allDeliveriesSeen('marker-4');
    // The server did deliver it again (starved + its redelivery + the marker), and the handler ran once.
    expect((await deliveries()) - before).toBeGreaterThanOrEqual(3);
    expect(callsOf('starved').map((c) => c.delivery)).toEqual([1]);
  });

  it('gives up on a handler that outlives the grace period, even with every slot busy, and nothing is lost', async () => {
    const GRACE_MS = 300;
    const first = await startRouter({ concurrency: 1, shutdownGraceMs: GRACE_MS });
    await publisher.publishEnvelope(Messages.ScoreFr, score('slow', 'outlives-grace'));
    await publisher.publishEnvelope(Messages.ScoreFr, score('fine', 'behind-it'));
    await expectEventually(() => expect(callsOf('outlives-grace')).toHaveLength(1), { message: 'slow handler started' });
    await expectEventually(async () => expect(await ackPending()).toBe(2), { message: 'second message pulled' });

    const started = Date.now();
    await first.app.close();
    expect(Date.now() - started, 'close() bounded by the grace period').toBeLessThan(SLOW_MS - 200);
    expect(callsOf('outlives-grace')[0]!.finishedAt).toBeUndefined();
    expect(callsOf('behind-it')).toEqual([]);

    // The abandoned handler's message was never acked: the next consumer gets it again.
    await startRouter();
    await expectEventually(
      () => {
        expect(callsOf('outlives-grace').filter((c) => c.generation === 2 && c.finishedAt !== undefined)).toHaveLength(1);
        expect(callsOf('behind-it').map((c) => c.generation)).toEqual([2]);
      },
      { timeoutMs: 15_000, message: 'both messages handled after restart' },
    );
    await expectEventually(async () => expect(await queued()).toEqual([]), { message: 'work queue drained' });
  });
});
