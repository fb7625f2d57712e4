import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { COMMAND_PREFIX, EVENT_PREFIX, HEADERS, parseMessage, STREAMS, validateForSubject, type Envelope, type ServiceName } from '@agency/contracts';
import { runWithMessageContext, SpanKind, SpanStatusCode, withSpan, type AgencyPinoLogger, type Span } from '@agency/telemetry';
import type { BusConnection } from './bus-connection.js';
import type { BusPublisher } from './bus-publisher.js';
import { DeadLetters } from './dead-letters.js';
import { ContractError, PermanentError } from './errors.js';
import { JetStreamContext } from './jetstream.context.js';
import { extractTrace, headerValue } from './nats-headers.js';
import { Semaphore } from './semaphore.js';
import { DEFAULT_TOPOLOGY, ensureConsumer, ensureStreams, type TopologyOptions } from './topology.js';

/** One message as this service handled it, for metrics. */
export interface HandledMessage {
  /** The envelope's type, e.g. agent-runner.code. */
  type: string;
  kind: 'cmd' | 'evt';
  outcome: 'ok' | 'retry' | 'dead-letter';
  durationMs: number;
  /** From publication to this delivery. */
  queuedMs?: number;
  deliveries: number;
}

export interface MessageObserver {
  handled(m: HandledMessage): void;
}

export interface JetStreamServerOptions {
  service: ServiceName;
  bus: BusConnection;
  publisher: BusPublisher;
  logger: AgencyPinoLogger;
  /** Messages handled at once per consumer. */
  concurrency: number;
  /** Deliveries before a failing message is dead-lettered. */
  maxDeliver: number;
  ackWaitMs: number;
  /** Redelivery delay: base * 2^(n-1), capped, with jitter; a RetryableError may ask for its own. */
  backoff?: { baseMs: number; maxMs: number };
  /** Subjects of the events consumer; a single filter, since nats-server 2.9 allows no more. */
  eventFilter?: string;
  topology?: TopologyOptions;
  /** How long close() waits for running handlers before giving up on them. */
  shutdownGraceMs?: number;
  /** Told of every message a handler ran for (metrics). */
  observer?: MessageObserver;
}

interface RunningConsumer {
  kind: 'cmd' | 'evt';
  durable: string;
  messages?: ConsumerMessages;
  loop: Promise<void>;
}

/**
 * NestJS transport strategy over JetStream durable pull consumers. Handlers are ordinary
 * `@EventPattern(subject)` methods receiving a validated envelope. Success acks; a thrown error
 * naks with backoff until maxDeliver, then dead-letters; an invalid message, a PermanentError
 * or a command nobody handles is dead-lettered at once. Events of one saga are handled in order.
 */
export class JetStreamServer extends Server implements CustomTransportStrategy {
  private readonly consumers: RunningConsumer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sagaChains = new Map<string, Promise<void>>();
  /** Messages being handled here, by stream and sequence: a redelivery of one (its heartbeats starved past ack_wait) is not run again. */
  private readonly handling = new Map<string, Promise<void>>();
  /** Messages this process acked or terminated lately: a redelivery sent before the server saw that is acked, not run. */
  private readonly settled = new Set<string>();
  private readonly deadLetters: DeadLetters;
  private closing = false;
  private started = false;
  /** Settles when close() begins, waking a loop that waits for a slot or for its restart delay. */
  private readonly stopping: Promise<void>;
  private stop!: () => void;

  constructor(private readonly options: JetStreamServerOptions) {
    super();
    this.deadLetters = new DeadLetters(options.bus, options.publisher, options.service);
    this.stopping = new Promise<void>((resolve) => (this.stop = resolve));
  }

  get running(): boolean {
    return this.started && !this.closing;
  }

  async listen(callback: (...optionalParams: unknown[]) => void): Promise<void> {
    try {
      const { bus, service } = this.options;
      await ensureStreams(bus.jsm, this.options.topology ?? DEFAULT_TOPOLOGY);
      const patterns = [...this.getHandlers().keys()];
      const commandPrefix = `${COMMAND_PREFIX}.${service}.`;
      const foreign = patterns.filter((p) => p.startsWith(COMMAND_PREFIX) && !p.startsWith(commandPrefix));
      if (foreign.length > 0) throw new Error(`${service} handles commands of another service: ${foreign.join(', ')}`);
      if (patterns.some((p) => p.startsWith(commandPrefix))) {
        await this.startConsumer('cmd', STREAMS.commands.name, `${service}-cmd`, `${commandPrefix}>`);
      }
      if (patterns.some((p) => p.startsWith(EVENT_PREFIX))) {
        await this.startConsumer('evt', STREAMS.events.name, `${service}-evt`, this.options.eventFilter ?? `${EVENT_PREFIX}.>`);
      }
      this.started = true;
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /**
   * Stops pulling, waits up to the grace period for the handlers already running, and returns
   * once the consume loops have ended. A message delivered but not yet started (waiting for a
   * slot) is not started: it is handed back (nak) for another replica or the next start.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stop();
    // Not awaited: an iterator's close() settles only once its loop has read what was already
    // delivered, and a loop waiting for a slot would hold it until a running handler ends.
    const iteratorsClosed = this.consumers.map((c) => c.messages?.close().catch(() => undefined));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.options.shutdownGraceMs ?? 10_000).unref());
    // No handler starts once closing is set, so this is every handler that will run here.
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    await Promise.allSettled([...this.consumers.map((c) => c.loop), ...iteratorsClosed]);
  }

  on(): never {
    throw new Error('JetStreamServer does not emit transport events');
  }

  unwrap<T>(): T {
    return this.options.bus.nc as T;
  }

  private async startConsumer(kind: 'cmd' | 'evt', stream: string, durable: string, filterSubject: string): Promise<void> {
    const { bus, concurrency, ackWaitMs } = this.options;
    await ensureConsumer(bus.jsm, { stream, durable, filterSubject, ackWaitMs, maxAckPending: Math.max(1000, concurrency * 4) });
    const consumer: RunningConsumer = { kind, durable, loop: Promise.resolve() };
    consumer.loop = this.consumeLoop(consumer, stream);
    this.consumers.push(consumer);
  }

  /** Pulls until closed; if the pull itself breaks (server restarted, consumer lost) it starts again. */
  private async consumeLoop(consumer: RunningConsumer, stream: string): Promise<void> {
    const slots = new Semaphore(this.options.concurrency);
    while (!this.closing) {
      try {
        const c = await this.options.bus.js.consumers.get(stream, consumer.durable);
        // One message at a time from the server: a message is pulled only once the loop has taken
        // the previous one, so nothing sits in a client buffer unheartbeated while every slot is
        // busy (ack_wait would then deliver it again and it would run twice). Pulls are local
        // round trips of well under a millisecond; handlers still run `concurrency` at once.
        const messages = await c.consume({ max_messages: 1 });
        consumer.messages = messages;
        // close() began while the consumer was being (re)started: it could not close this one.
        if (this.closing) void messages.close().catch(() => undefined);
        for await (const m of messages) {
          if (this.alreadyHere(m)) continue;
          const slot = slots.acquire();
          // Pulled but waiting for a free slot: keep it ours, or ack_wait would deliver it again meanwhile.
          const keep = setInterval(() => m.working(), this.heartbeatMs());
          await Promise.race([slot, this.stopping]).finally(() => clearInterval(keep));
          if (this.closing) {
            // Delivered but not started: hand it back now rather than after ack_wait.
            void slot.then(() => slots.release());
            this.handBack(m);
            continue;
          }
          const key = this.keyOf(m);
          const done = this.dispatch(m, consumer.kind).finally(() => {
            slots.release();
            this.handling.delete(key);
          });
          this.handling.set(key, done);
          this.track(done);
        }
      } catch (error) {
        if (this.closing) break;
        this.options.logger.warn({ err: error, consumer: consumer.durable }, 'consumer stopped; restarting');
      }
      if (!this.closing) await Promise.race([new Promise((r) => setTimeout(r, 1000).unref()), this.stopping]);
    }
  }

  private keyOf(m: JsMsg): string {
    return `${m.info.stream}:${m.seq}`;
  }

  /**
   * A delivery of a message this process is still handling, or has just acked: JetStream sent it
   * again because the first delivery's heartbeats did not reach it within ack_wait (a starved
   * event loop). It is kept alive until the first one ends, or acked again, and never run twice.
   */
  private alreadyHere(m: JsMsg): boolean {
    const key = this.keyOf(m);
    if (this.settled.has(key)) {
      m.ack();
      this.options.logger.warn(
        { subject: m.subject, seq: m.seq, deliveries: m.info.deliveryCount },
        'message delivered again after it was handled here; acked again, not run',
      );
      return true;
    }
    const running = this.handling.get(key);
    if (!running) return false;
    this.options.logger.warn(
      { subject: m.subject, seq: m.seq, deliveries: m.info.deliveryCount },
      'message delivered again while it runs here (heartbeats late); not run twice',
    );
    const keep = setInterval(() => m.working(), this.heartbeatMs());
    void running.finally(() => clearInterval(keep));
    return true;
  }

  /** The message's outcome is final (acked or terminated): remembered for a while against late redeliveries. */
  private settle(m: JsMsg): void {
    const key = this.keyOf(m);
    this.settled.add(key);
    if (this.settled.size > 4096) this.settled.delete(this.settled.values().next().value!);
  }

  /** Heartbeats come three times per ack_wait, so two may be late before the server gives up on a delivery. */
  private heartbeatMs(): number {
    return Math.max(100, Math.floor(this.options.ackWaitMs / 3));
  }

  private handBack(m: JsMsg): void {
    try {
      m.nak();
    } catch (error) {
      // The connection is gone: the message comes back after ack_wait anyway.
      this.options.logger.debug({ err: error, subject: m.subject, seq: m.seq }, 'could not hand a message back on close');
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Events of one saga run one after another; everything else runs as slots allow. */
  private dispatch(m: JsMsg, kind: 'cmd' | 'evt'): Promise<void> {
    const sagaId = kind === 'evt' ? headerValue(m.headers, HEADERS.sagaId) : undefined;
    if (!sagaId) return this.process(m, kind);
    const previous = this.sagaChains.get(sagaId) ?? Promise.resolve();
    const next = previous.then(() => this.process(m, kind));
    this.sagaChains.set(sagaId, next);
    void next.finally(() => {
      if (this.sagaChains.get(sagaId) === next) this.sagaChains.delete(sagaId);
    });
    return next;
  }

  private async process(m: JsMsg, kind: 'cmd' | 'evt'): Promise<void> {
    const heartbeat = setInterval(() => m.working(), this.heartbeatMs());
    try {
      const parsed = parseMessage(m.subject, m.data);
      if (!parsed.ok) return await this.giveUp(m, parsed.error.message, undefined);
      const handler = this.getHandlerByPattern(m.subject);
      if (!handler) {
        if (kind === 'evt') {
          m.ack();
          return this.settle(m);
        }
        return await this.giveUp(m, `${this.options.service} has no handler for ${m.subject}`, parsed.value);
      }
      const checked = validateForSubject(m.subject, parsed.value);
      if (!checked.ok) return await this.giveUp(m, checked.error.message, parsed.value);
      await this.invoke(m, checked.value, handler);
    } catch (error) {
      // The bus itself failed (dead-letter publish, ack): leave the message for redelivery.
      this.options.logger.error({ err: error, subject: m.subject, seq: m.seq }, 'message handling failed outside the handler');
      m.nak(this.backoffMs(m.info.deliveryCount));
    } finally {
      clearInterval(heartbeat);
    }
  }

  private invoke(m: JsMsg, env: Envelope<object>, handler: NonNullable<ReturnType<Server['getHandlerByPattern']>>): Promise<void> {
    const ids = { frId: env.frId, jobId: env.jobId, sagaId: env.sagaId, step: env.step, messageId: env.id, subject: m.subject };
    return runWithMessageContext(ids, () =>
      withSpan(
        // OpenTelemetry's messaging conventions: `{operation} {destination}`, the subject (no ids in it).
        `process ${m.subject}`,
        {
          kind: SpanKind.CONSUMER,
          parent: extractTrace(m.headers),
          attributes: {
            'messaging.system': 'nats',
            'messaging.operation.type': 'process',
            'messaging.destination.name': m.subject,
            'messaging.message.id': env.id,
            'messaging.consumer.group.name': `${this.options.service}`,
            'messaging.nats.delivery_count': m.info.deliveryCount,
            'agency.service': this.options.service,
            'agency.fr_id': env.frId,
            'agency.saga_id': env.sagaId,
            'agency.step': env.step,
            'agency.attempt': env.attempt,
            ...(env.jobId ? { 'agency.job_id': env.jobId } : {}),
          },
        },
        async (span) => {
          const started = Date.now();
          const kind = m.subject.startsWith('agency.cmd.') ? 'cmd' : 'evt';
          const observe = (outcome: HandledMessage['outcome']) =>
            this.options.observer?.handled({
              type: env.type,
              kind,
              outcome,
              durationMs: Date.now() - started,
              queuedMs: started - m.info.timestampNanos / 1e6,
              deliveries: m.info.deliveryCount,
            });
          try {
            const result = await handler(env, new JetStreamContext([m, m.subject]));
            await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
            m.ack();
            this.settle(m);
            observe('ok');
          } catch (error) {
            observe(await this.onHandlerError(m, env, error, span));
          }
        },
      ),
    );
  }

  private async onHandlerError(m: JsMsg, env: Envelope<object>, error: unknown, span: Span): Promise<'retry' | 'dead-letter'> {
    const err = error instanceof Error ? error : new Error(typeof error === 'object' ? JSON.stringify(error) : String(error));
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    const deliveries = m.info.deliveryCount;
    if (err instanceof PermanentError || err instanceof ContractError) {
      await this.giveUp(m, `${err.name}: ${err.message}`, env);
      return 'dead-letter';
    }
    if (deliveries >= this.options.maxDeliver) {
      await this.giveUp(m, `failed ${deliveries} times; last error: ${err.message}`, env);
      return 'dead-letter';
    }
    const delay = (err as { delayMs?: number }).delayMs ?? this.backoffMs(deliveries);
    this.options.logger.warn({ err, subject: m.subject, deliveries, retryInMs: delay }, `handler failed; retrying (${deliveries}/${this.options.maxDeliver})`);
    m.nak(delay);
    return 'retry';
  }

  private async giveUp(m: JsMsg, reason: string, raw: unknown): Promise<void> {
    const record = await this.deadLetters.send(m, reason, raw);
    this.options.logger.error({ subject: m.subject, deliveries: record.deliveries, streamSeq: record.streamSeq, reason }, 'message dead-lettered');
    // No reason: nats-server 2.9 does not understand `+TERM <reason>` and leaves the message to be
    // delivered again after ack_wait. The reason is in the dead letter's headers.
    m.term();
    this.settle(m);
  }

  private backoffMs(deliveries: number): number {
    const { baseMs, maxMs } = this.options.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, deliveries - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }
}
