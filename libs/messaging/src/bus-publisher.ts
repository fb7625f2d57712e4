import type { MsgHdrs } from '@nats-io/transport-node';
import { HEADERS, messageDedupeId, validateMessage, type AnyMessageDef, type Envelope, type PayloadOf } from '@agency/contracts';
import { SpanKind, withSpan, type Context } from '@agency/telemetry';
import type { BusConnection } from './bus-connection.js';
import type { Clock } from './clock.js';
import { ContractError } from './errors.js';
import { injectTrace, newHeaders } from './nats-headers.js';
import { PubAckInbox, type OutgoingMessage } from './pub-ack-inbox.js';

/** How long a batch waits for JetStream's acks before its unanswered messages count as failed. */
export const BATCH_ACK_TIMEOUT_MS = 5_000;

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

/** One message of a batch: its envelope, its Nats-Msg-Id and the trace context it belongs to. */
export interface BatchItem<P> {
  envelope: Envelope<P>;
  msgId: string;
  trace?: Context;
}

export interface PublishOptions {
  /** Overrides the default dedupe id (sagaId:step:attempt:type), e.g. for repeating heartbeats. */
  msgId?: string;
}

/** The envelope as sent, validated first: a bad outgoing message is a bug and is never sent. */
function checkedJson(def: AnyMessageDef, envelope: Envelope<unknown>): string {
  const json = JSON.stringify(envelope);
  const checked = validateMessage(def, JSON.parse(json));
  if (!checked.ok) throw new ContractError(`refusing to publish: ${checked.error.message}`);
  return json;
}

/** The routing headers, and the trace context (`trace`, else the active one). */
function headersOf(envelope: Envelope<unknown>, trace?: Context): MsgHdrs {
  const h = newHeaders();
  h.set(HEADERS.frId, envelope.frId);
  h.set(HEADERS.sagaId, envelope.sagaId);
  h.set(HEADERS.type, envelope.type);
  if (envelope.jobId) h.set(HEADERS.jobId, envelope.jobId);
  injectTrace(h, trace);
  return h;
}

/**
 * Publishes typed envelopes to JetStream: validates them first (a bad outgoing message is a bug
 * and is never sent), sets Nats-Msg-Id for dedupe and carries the W3C trace context in headers.
 */
export class BusPublisher {
  private acks: PubAckInbox | undefined;
  private readonly observers: Array<(envelope: Envelope<unknown>) => void> = [];

  constructor(
    private readonly bus: BusConnection,
    private readonly clock: Clock,
  ) {}

  /** Calls `observer` with every envelope this publisher stored (not the duplicates JetStream dropped): metrics. */
  observe(observer: (envelope: Envelope<unknown>) => void): void {
    this.observers.push(observer);
  }

  private published(envelope: Envelope<unknown>, duplicate: boolean): void {
    if (duplicate) return;
    for (const o of this.observers) {
      try {
        o(envelope);
      } catch {
        // An observer (metrics) never fails a publish.
      }
    }
  }

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
  reply<D extends AnyMessageDef>(
    incoming: Envelope<unknown>,
    def: D,
    payload: PayloadOf<D>,
    overrides: Partial<EnvelopeInit<PayloadOf<D>>> = {},
    options: PublishOptions = {},
  ): Promise<PublishResult> {
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
    const json = checkedJson(def, envelope);
    const msgId = options.msgId ?? messageDedupeId(envelope);
    return withSpan(
      `send ${def.subject}`,
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
        const ack = await this.bus.js.publish(def.subject, json, { msgID: msgId, headers: headersOf(envelope), retries: 3 });
        span.setAttribute('messaging.nats.stream_sequence', ack.seq);
        if (ack.duplicate) span.setAttribute('messaging.nats.duplicate', true);
        this.published(envelope, ack.duplicate);
        return { envelope, streamSeq: ack.seq, duplicate: ack.duplicate };
      },
    );
  }

  /**
   * Publishes many envelopes of one type at once, for a producer that emits one per request (the
   * gateway's usage events): each is validated and carries its own trace context (the request's)
   * in its headers, but the batch gets one PRODUCER span instead of one per message, and the
   * messages go out at once with their acks coming to one subscription (PubAckInbox). Settles per
   * message, like Promise.allSettled; a message without an ack within BATCH_ACK_TIMEOUT_MS failed
   * (it may still be stored: send it again with the same Nats-Msg-Id).
   */
  async publishBatch<D extends AnyMessageDef>(def: D, items: ReadonlyArray<BatchItem<PayloadOf<D>>>): Promise<PromiseSettledResult<PublishResult>[]> {
    return withSpan(
      `send ${def.subject}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'send',
          'messaging.destination.name': def.subject,
          'messaging.batch.message_count': items.length,
        },
      },
      async () => {
        const settled: Array<PromiseSettledResult<PublishResult> | undefined> = [];
        const outgoing: OutgoingMessage[] = [];
        const sentIndex: number[] = [];
        items.forEach(({ envelope, msgId, trace }, i) => {
          try {
            const headers = headersOf(envelope, trace);
            headers.set('Nats-Msg-Id', msgId);
            outgoing.push({ subject: def.subject, data: checkedJson(def, envelope), headers });
            sentIndex.push(i);
          } catch (e) {
            settled[i] = { status: 'rejected', reason: e };
          }
        });
        this.acks ??= new PubAckInbox(this.bus.nc, this.bus.inboxPrefix);
        const acks = await this.acks.publishAll(outgoing, BATCH_ACK_TIMEOUT_MS);
        acks.forEach((a, k) => {
          const i = sentIndex[k]!;
          settled[i] =
            a.status === 'fulfilled'
              ? { status: 'fulfilled', value: { envelope: items[i]!.envelope, streamSeq: a.value.seq, duplicate: a.value.duplicate } }
              : a;
        });
        return settled as PromiseSettledResult<PublishResult>[];
      },
    );
  }
}
