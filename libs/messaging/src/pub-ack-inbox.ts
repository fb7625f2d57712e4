import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** JetStream's answer to a stored message. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

export interface OutgoingMessage {
  subject: string;
  data: string;
  headers: MsgHdrs;
}

interface Waiter {
  resolve(ack: PubAck): void;
  reject(error: Error): void;
}

interface AckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
}

/**
 * JetStream publishes whose acks all come to one subscription. `js.publish` makes each message a
 * request of its own (an inbox entry, a timer and two error objects made up front, for their
 * stack traces), which costs more than the message itself for a producer that sends one per HTTP
 * request (the gateway's usage events); here a batch shares one timer and the acks one
 * subscription, under the connection's inbox prefix (the only place its NATS user may subscribe).
 */
export class PubAckInbox {
  private readonly prefix: string;
  private readonly subscription: Subscription;
  private readonly waiting = new Map<string, Waiter>();
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix: string,
  ) {
    this.prefix = createInbox(inboxPrefix);
    this.subscription = nc.subscribe(`${this.prefix}.*`, { callback: (error, msg) => this.answered(error, msg) });
  }

  /** Publishes every message; each settles with its ack, or fails when none came within `timeoutMs`. */
  publishAll(messages: readonly OutgoingMessage[], timeoutMs: number): Promise<PromiseSettledResult<PubAck>[]> {
    const tokens: string[] = [];
    const acks = messages.map((m) => {
      const token = String((this.next += 1));
      tokens.push(token);
      const ack = new Promise<PubAck>((resolve, reject) => this.waiting.set(token, { resolve, reject }));
      try {
        this.nc.publish(m.subject, m.data, { reply: `${this.prefix}.${token}`, headers: m.headers });
      } catch (e) {
        this.settle(token, (w) => w.reject(e as Error));
      }
      return ack;
    });
    const timer = setTimeout(() => {
      for (const t of tokens) this.settle(t, (w) => w.reject(new Error(`no JetStream ack within ${timeoutMs} ms`)));
    }, timeoutMs);
    return Promise.allSettled(acks).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.subscription.unsubscribe();
    for (const t of [...this.waiting.keys()]) this.settle(t, (w) => w.reject(new Error('the bus connection closed')));
  }

  private settle(token: string, how: (w: Waiter) => void): void {
    const waiter = this.waiting.get(token);
    if (!waiter) return;
    this.waiting.delete(token);
    how(waiter);
  }

  private answered(error: Error | null, msg: Msg): void {
    if (error) return; // the subscription failed: the waiting publishes time out
    this.settle(msg.subject.slice(this.prefix.length + 1), (w) => {
      // No stream listens on the subject: the server answers with a 503 status.
      if (msg.headers?.hasError) return w.reject(new Error(`JetStream did not store the message: ${msg.headers.code} ${msg.headers.description}`));
      try {
        const body = msg.json<AckBody>();
        if (body.error || body.stream === undefined || body.seq === undefined) {
          return w.reject(
            new Error(`JetStream did not store the message: ${body.error?.description ?? 'invalid ack'} (${body.error?.err_code ?? body.error?.code ?? '?'})`),
          );
        }
        w.resolve({ stream: body.stream, seq: body.seq, duplicate: body.duplicate ?? false });
      } catch (e) {
        w.reject(e as Error);
      }
    });
  }
}
