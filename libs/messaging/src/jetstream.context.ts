import type { JsMsg } from '@nats-io/jetstream';
import { BaseRpcContext } from '@nestjs/microservices';

type JetStreamContextArgs = [JsMsg, string];

/** What a handler can reach of the underlying message through `@Ctx()`. */
export class JetStreamContext extends BaseRpcContext<JetStreamContextArgs> {
  getMessage(): JsMsg {
    return this.args[0];
  }

  getSubject(): string {
    return this.args[1];
  }

  /** 1 on the first delivery. */
  getDeliveryCount(): number {
    return this.args[0].info.deliveryCount;
  }

  /** Resets the ack timer now; the transport also does it on an interval while the handler runs. */
  working(): void {
    this.args[0].working();
  }
}
