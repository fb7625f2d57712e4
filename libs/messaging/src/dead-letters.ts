import type { JsMsg } from '@nats-io/jetstream';
import { deadLetterSubject, deadLetteredDefFor, EnvelopeHeaderDto, HEADERS, STREAMS, type ServiceName } from '@agency/contracts';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { BusConnection } from './bus-connection.js';
import type { BusPublisher } from './bus-publisher.js';
import { newHeaders } from './nats-headers.js';

export interface DeadLetterRecord {
  subject: string;
  reason: string;
  deliveries: number;
  streamSeq: number;
}

/**
 * Moves a message the service gave up on into the dead-letter stream, reason in headers, and
 * tells the saga with a `<service>.dead-lettered` event when the message names its FR.
 */
export class DeadLetters {
  constructor(
    private readonly bus: BusConnection,
    private readonly publisher: BusPublisher,
    private readonly service: ServiceName,
  ) {}

  async send(msg: JsMsg, reason: string, raw: unknown): Promise<DeadLetterRecord> {
    const record: DeadLetterRecord = { subject: msg.subject, reason: reason.slice(0, 10_000), deliveries: msg.info.deliveryCount, streamSeq: msg.seq };
    const h = newHeaders();
    for (const [k, values] of msg.headers ?? []) for (const v of values) if (k !== HEADERS.msgId) h.append(k, v);
    h.set(HEADERS.deadLetterReason, oneLine(record.reason));
    h.set(HEADERS.deadLetterSubject, msg.subject);
    h.set(HEADERS.deadLetterService, this.service);
    h.set(HEADERS.deadLetterDeliveries, String(record.deliveries));
    h.set(HEADERS.deadLetterStreamSeq, String(record.streamSeq));
    // Keyed by the original's stream and sequence: a crash between this publish and the term
    // makes the retry a duplicate JetStream drops.
    const streamName = msg.info.stream ?? STREAMS.commands.name;
    await this.bus.js.publish(deadLetterSubject(this.service, msg.subject), msg.data, { msgID: `dlq:${streamName}:${msg.seq}`, headers: h });
    await this.notifySaga(msg, record, raw);
    return record;
  }

  private async notifySaga(msg: JsMsg, record: DeadLetterRecord, raw: unknown): Promise<void> {
    // Never answer a dead-letter notice with another one: that could loop.
    if (/\.dead-lettered\.v\d+$/.test(msg.subject)) return;
    const def = deadLetteredDefFor(this.service);
    const header = envelopeHeader(raw);
    if (!def || !header) return;
    await this.publisher.publish(
      def,
      {
        frId: header.frId,
        sagaId: header.sagaId,
        step: header.step,
        attempt: header.attempt,
        jobId: header.jobId,
        payload: {
          originalSubject: record.subject,
          reason: record.reason,
          deliveries: record.deliveries,
          streamSeq: record.streamSeq,
          originalType: header.type,
        },
      },
      { msgId: `dlq-evt:${streamNameOf(msg)}:${msg.seq}` },
    );
  }
}

function streamNameOf(msg: JsMsg): string {
  return msg.info.stream ?? 'unknown';
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 4000);
}

/** The routing part of a (possibly invalid) message, if it is intact enough to name its FR. */
function envelopeHeader(raw: unknown): EnvelopeHeaderDto | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const h = plainToInstance(EnvelopeHeaderDto, raw);
  const errors = validateSync(h, { skipMissingProperties: false }).filter((e) => ['frId', 'sagaId', 'step', 'attempt'].includes(e.property));
  return errors.length === 0 ? h : undefined;
}
