import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { inboxPrefixFor } from './bus-permissions.js';
import { BusReachability } from './bus-reachability.js';

export interface BusConnectionOptions {
  servers: string;
  /** Connection name shown by the server's monitoring: `<service>@<instance>`. */
  name: string;
  /** Give up the first connection after this long; later disconnects reconnect forever. */
  connectTimeoutMs?: number;
  /** Readiness turns unready once the connection has been lost for this long (default 15 s). */
  unreadyAfterMs?: number;
  /** NATS user and password (NATS_USER, NATS_PASSWORD); none for a server without authentication. */
  user?: string;
  password?: string;
}

/** NATS refused the connection's credentials, or its permissions do not cover what every service needs. */
export class BusAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusAuthError';
  }
}

/** `nats://user:secret@host` -> `nats://***@host`: credentials in a URL never reach a message. */
export function redactServers(servers: string): string {
  return servers.replace(/(\/\/)[^/@\s,]+@/g, '$1***@');
}

export const DEFAULT_UNREADY_AFTER_MS = 15_000;

/** The one NATS connection of a process, with its JetStream, KV and object-store handles. */
export class BusConnection {
  readonly js: JetStreamClient;
  readonly kvm: Kvm;
  readonly objm: Objm;
  private closing = false;

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    private readonly reachability: BusReachability,
    /** Where replies to this connection may come (its NATS user may subscribe only there). */
    readonly inboxPrefix = '_INBOX',
  ) {
    this.js = jetstream(nc);
    this.kvm = new Kvm(this.js);
    this.objm = new Objm(this.js);
    void this.followStatus().catch(() => undefined);
  }

  static async connect(options: BusConnectionOptions): Promise<BusConnection> {
    const servers = options.servers.split(',').map((s) => s.trim());
    const shown = redactServers(options.servers);
    const who = options.user ? `user "${options.user}"` : 'no credentials';
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: options.name,
        timeout: options.connectTimeoutMs ?? 10_000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        waitOnFirstConnect: true,
        // A server that vanished without closing the socket (a node lost) is noticed within a
        // minute, not the default four: readiness depends on it.
        pingInterval: 15_000,
        maxPingOut: 3,
        ...(options.user ? { user: options.user, pass: options.password ?? '', inboxPrefix: inboxPrefixFor(options.user) } : {}),
      });
    } catch (e) {
      if (e instanceof errors.AuthorizationError) {
        throw new BusAuthError(
          options.user
            ? `NATS at ${shown} refused ${who} (${e.message}): check NATS_USER and NATS_PASSWORD`
            : `NATS at ${shown} requires credentials (${e.message}): set NATS_USER and NATS_PASSWORD`,
        );
      }
      throw new Error(`cannot reach NATS at ${shown}: ${(e as Error).message}. Start nats-server with JetStream (nats-server -js) or set NATS_URL.`);
    }
    const jsm = await jetstreamManager(nc).catch((e: Error) => {
      void nc.close();
      if (e instanceof errors.PermissionViolationError || e.cause instanceof errors.PermissionViolationError) {
        throw new BusAuthError(`NATS at ${shown} does not let ${who} use JetStream (${e.message}): its permissions are not the agency's`);
      }
      throw new Error(`NATS at ${shown} has no JetStream (${e.message}); start it with -js`);
    });
    return new BusConnection(
      nc,
      jsm,
      new BusReachability(options.unreadyAfterMs ?? DEFAULT_UNREADY_AFTER_MS),
      options.user ? inboxPrefixFor(options.user) : '_INBOX',
    );
  }

  /** Open and not shutting down (it may be reconnecting: see `readiness`). */
  get connected(): boolean {
    return !this.nc.isClosed() && !this.closing;
  }

  /** For /health/ready: 'ok', or what is wrong with the bus. */
  get readiness(): 'ok' | string {
    if (!this.connected) return 'disconnected';
    return this.reachability.check();
  }

  /** Tracks losing and regaining the server; the client itself reconnects. */
  private async followStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') this.reachability.lost();
      else if (s.type === 'reconnect') this.reachability.restored();
    }
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
