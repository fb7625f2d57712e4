import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { ServiceName } from '@agency/contracts';
import { ArtifactStore } from './artifact.store.js';
import { BusConnection } from './bus-connection.js';
import { BusPublisher } from './bus-publisher.js';
import { Clock } from './clock.js';
import { IdempotencyStore } from './idempotency.store.js';
import { JetStreamClient } from './jetstream.client.js';

export interface MessagingModuleOptions {
  service: ServiceName;
  natsUrl: string;
  instanceId: string;
  /** Readiness turns unready once NATS has been unreachable for this long. */
  unreadyAfterMs?: number;
  /** The service's NATS credentials, when the server requires them. */
  user?: string;
  password?: string;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/** Drains the process's NATS connection after the transport has stopped consuming. */
class BusConnectionCloser implements OnApplicationShutdown {
  constructor(private readonly bus: BusConnection) {}
  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}

/** Provides the NATS connection and what is built on it; one per process. */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        { provide: Clock, useValue: new Clock() },
        {
          provide: BusConnection,
          useFactory: () =>
            BusConnection.connect({
              servers: options.natsUrl,
              name: `${options.service}@${options.instanceId}`,
              unreadyAfterMs: options.unreadyAfterMs,
              user: options.user,
              password: options.password,
            }),
        },
        { provide: BusConnectionCloser, useFactory: (bus: BusConnection) => new BusConnectionCloser(bus), inject: [BusConnection] },
        { provide: BusPublisher, useFactory: (bus: BusConnection, clock: Clock) => new BusPublisher(bus, clock), inject: [BusConnection, Clock] },
        { provide: ArtifactStore, useFactory: (bus: BusConnection) => new ArtifactStore(bus), inject: [BusConnection] },
        { provide: IdempotencyStore, useFactory: (bus: BusConnection) => new IdempotencyStore(bus, options.service), inject: [BusConnection] },
        { provide: JetStreamClient, useFactory: (bus: BusConnection, p: BusPublisher) => new JetStreamClient(bus, p), inject: [BusConnection, BusPublisher] },
      ],
      exports: [MESSAGING_OPTIONS, Clock, BusConnection, BusPublisher, ArtifactStore, IdempotencyStore, JetStreamClient],
    };
  }
}
