import { HEADERS, messageDedupeId, validateMessage, type AnyMessageDef, type Envelope, type PayloadOf } from '@agency/contracts';
import { SpanKind, withSpan } from '@agency/telemetry';
import type { BusConnection } from './bus-connection.js';
import type { Clock } from './clock.js';
import { ContractError } from './errors.js';
import { injectTrace, newHeaders } from './nats-headers.js';

export interface EnvelopeInit<P> {
  frId: string;
  sagaId: string;
  step: string;
  attempt?: number;
  jobId?: string;
  causationId?: string;
  payload: P;
}

export interface PublishResult {
  envelope: Envelope<unknown>;
  streamSeq: number;
  /** True when JetStream had already stored a message with the same Nats-Msg-Id. */
  duplicate: boolean;
}

export interface PublishOptions {
  /** Overrides the default dedupe id (sagaId:step:attempt:type), e.g. for repeating heartbeats. */
  msgId?: string;
}

/**
 * Publishes typed envelopes to JetStream: validates them first (a bad outgoing message is a bug
 * and is never sent), sets Nats-Msg-Id for dedupe and carries the W3C trace context in headers.
 */
export class BusPublisher {
  constructor(
    private readonly bus: BusConnection,
    private readonly clock: Clock,
  ) {}

  async publish<D extends AnyMessageDef>(def: D, init: EnvelopeInit<PayloadOf<D>>, options: PublishOptions = {}): Promise<PublishResult> {
    const envelope: Envelope<PayloadOf<D>> = {
      id: this.clock.uuid(),
      type: def.type,
      version: def.version,
      frId: init.frId,
      sagaId: init.sagaId,
      step: init.step,
      attempt: init.attempt ?? 1,
      occurredAt: this.clock.now().toISOString(),
      payload: init.payload,
    };
    if (init.jobId !== undefined) envelope.jobId = init.jobId;
    if (init.causationId !== undefined) envelope.causationId = init.causationId;
    return this.publishEnvelope(def, envelope, options);
  }

  /** Publishes a message caused by `incoming`: same FR, saga, job, step and attempt. */
  reply<D extends AnyMessageDef>(incoming: Envelope<unknown>, def: D, payload: PayloadOf<D>, overrides: Partial<EnvelopeInit<PayloadOf<D>>> = {}, options: PublishOptions = {}): Promise<PublishResult> {
    return this.publish(
      def,
      {
        frId: incoming.frId,
        sagaId: incoming.sagaId,
        step: incoming.step,
        attempt: incoming.attempt,
        jobId: incoming.jobId,
        causationId: incoming.id,
        payload,
        ...overrides,
      },
      options,
    );
  }

  async publishEnvelope<D extends AnyMessageDef>(def: D, envelope: Envelope<PayloadOf<D>>, options: PublishOptions = {}): Promise<PublishResult> {
    const json = JSON.stringify(envelope);
    const checked = validateMessage(def, JSON.parse(json));
    if (!checked.ok) throw new ContractError(`refusing to publish: ${checked.error.message}`);
    const msgId = options.msgId ?? messageDedupeId(envelope);
    return withSpan(
      `${def.type} send`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'send',
          'messaging.destination.name': def.subject,
          'messaging.message.id': envelope.id,
          'agency.fr_id': envelope.frId,
          'agency.saga_id': envelope.sagaId,
          'agency.step': envelope.step,
        },
      },
      async (span) => {
        const h = newHeaders();
        h.set(HEADERS.frId, envelope.frId);
        h.set(HEADERS.sagaId, envelope.sagaId);
        h.set(HEADERS.type, envelope.type);
        if (envelope.jobId) h.set(HEADERS.jobId, envelope.jobId);
        injectTrace(h);
        const ack = await this.bus.js.publish(def.subject, json, { msgID: msgId, headers: h, retries: 3 });
        span.setAttribute('messaging.nats.stream_sequence', ack.seq);
        if (ack.duplicate) span.setAttribute('messaging.nats.duplicate', true);
        return { envelope, streamSeq: ack.seq, duplicate: ack.duplicate };
      },
    );
  }
}
