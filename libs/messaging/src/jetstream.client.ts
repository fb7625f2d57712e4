import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { messageDefForSubject, type Envelope } from '@agency/contracts';
import type { BusConnection } from './bus-connection.js';
import type { BusPublisher } from './bus-publisher.js';

/**
 * Nest's `ClientProxy` over JetStream, for code that prefers `client.emit(subject, envelope)`.
 * The bus is event-driven: request/response (`send`) is refused, since a reply would not
 * survive a restart; use a command and its result event instead.
 */
export class JetStreamClient extends ClientProxy {
  constructor(
    private readonly bus: BusConnection,
    private readonly publisher: BusPublisher,
  ) {
    super();
  }

  async connect(): Promise<BusConnection> {
    return this.bus;
  }

  close(): void {
    // The connection belongs to the process (BusConnection), not to this client.
  }

  unwrap<T>(): T {
    return this.bus.nc as T;
  }

  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new Error('JetStreamClient supports emit() only: send a command and handle its result event'), isDisposed: true });
    return () => undefined;
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket<Envelope<never>>): Promise<T> {
    const subject = String(packet.pattern);
    const def = messageDefForSubject(subject);
    if (!def) throw new Error(`no message type is registered for subject ${subject}`);
    return (await this.publisher.publishEnvelope(def, packet.data)) as T;
  }
}
