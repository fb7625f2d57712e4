import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface BusConnectionOptions {
  servers: string;
  /** Connection name shown by the server's monitoring: `<service>@<instance>`. */
  name: string;
  /** Give up the first connection after this long; later disconnects reconnect forever. */
  connectTimeoutMs?: number;
}

/** The one NATS connection of a process, with its JetStream, KV and object-store handles. */
export class BusConnection {
  readonly js: JetStreamClient;
  readonly kvm: Kvm;
  readonly objm: Objm;
  private closing = false;

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {
    this.js = jetstream(nc);
    this.kvm = new Kvm(this.js);
    this.objm = new Objm(this.js);
  }

  static async connect(options: BusConnectionOptions): Promise<BusConnection> {
    const servers = options.servers.split(',').map((s) => s.trim());
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: options.name,
        timeout: options.connectTimeoutMs ?? 10_000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        waitOnFirstConnect: true,
      });
    } catch (e) {
      throw new Error(`cannot reach NATS at ${options.servers}: ${(e as Error).message}. Start nats-server with JetStream (nats-server -js) or set NATS_URL.`);
    }
    const jsm = await jetstreamManager(nc).catch((e: Error) => {
      void nc.close();
      throw new Error(`NATS at ${options.servers} has no JetStream (${e.message}); start it with -js`);
    });
    return new BusConnection(nc, jsm);
  }

  get connected(): boolean {
    return !this.nc.isClosed() && !this.closing;
  }

  /** Flushes pending publishes and closes; subscriptions are drained by their owners first. */
  async close(): Promise<void> {
    if (this.closing || this.nc.isClosed()) return;
    this.closing = true;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}
