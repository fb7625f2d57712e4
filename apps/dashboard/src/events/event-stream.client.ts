import { Inject, Injectable } from '@nestjs/common';
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerMessages } from '@nats-io/jetstream';
import { STREAMS } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusConnection } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';

/** The envelope fields the dashboard reads; the payload stays loosely typed (a read model only). */
export interface EventEnvelope {
  id: string;
  type: string;
  frId: string;
  sagaId: string;
  jobId?: string;
  step: string;
  attempt: number;
  occurredAt: string;
  payload: Record<string, unknown>;
}

export interface StreamedEvent {
  seq: number;
  subject: string;
  envelope: EventEnvelope;
}

export interface EventSink {
  event(e: StreamedEvent): void;
  /** The replay reached the end of the stream; what follows is live. */
  caughtUp(): void;
}

export interface EventFollow {
  stop(): Promise<void>;
}

function isEnvelope(v: unknown): v is EventEnvelope {
  const e = v as Partial<EventEnvelope> | null;
  return (
    !!e &&
    typeof e.type === 'string' &&
    typeof e.sagaId === 'string' &&
    typeof e.frId === 'string' &&
    typeof e.step === 'string' &&
    typeof e.occurredAt === 'string' &&
    typeof e.payload === 'object' &&
    e.payload !== null
  );
}

/**
 * Follows the audit stream (AGENCY_EVT, every `agency.evt.>` event) with an ordered consumer:
 * ephemeral, no acks, recreated by the client after a gap or a reconnect, so the dashboard
 * holds no durable state on the server. Waits for the stream when the services have not made it yet.
 */
@Injectable()
export class EventStreamClient {
  constructor(
    private readonly bus: BusConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async follow(since: Date, sink: EventSink, retryMs = 2000): Promise<EventFollow> {
    let stopped = false;
    let messages: ConsumerMessages | undefined;
    let wake: (() => void) | undefined;
    let waitedBefore = false;
    const loop = (async () => {
      while (!stopped) {
        try {
          const consumer = await this.bus.js.consumers.get(STREAMS.events.name, {
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: since.toISOString(),
          });
          const info = await consumer.info(true);
          let caught = false;
          if (info.num_pending === 0) {
            caught = true;
            sink.caughtUp();
          }
          messages = await consumer.consume();
          if (stopped) break;
          for await (const m of messages) {
            let parsed: unknown;
            try {
              parsed = m.json<unknown>();
            } catch {
              parsed = undefined;
            }
            if (isEnvelope(parsed)) sink.event({ seq: m.info.streamSequence, subject: m.subject, envelope: parsed });
            else this.logger.warn({ subject: m.subject, seq: m.info.streamSequence }, 'skipping an event that is not an agency envelope');
            if (!caught && m.info.pending === 0) {
              caught = true;
              sink.caughtUp();
            }
          }
          return;
        } catch (e) {
          if (stopped) return;
          const missing = e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound;
          if (missing || /stream not found/i.test((e as Error).message)) {
            if (!waitedBefore) this.logger.info(`waiting for stream ${STREAMS.events.name} (the services create it at boot)`);
            waitedBefore = true;
          } else this.logger.warn({ err: e }, `following ${STREAMS.events.name} failed; retrying`);
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, retryMs).unref();
          });
        }
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        wake?.();
        await messages?.close();
        await loop;
      },
    };
  }
}
