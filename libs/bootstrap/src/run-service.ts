import 'reflect-metadata';
import { hostname } from 'node:os';
import { Module, type DynamicModule, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ServiceName } from '@agency/contracts';
import { ConfigError, loadConfig, type ServiceConfig } from '@agency/config';
import { BusConnection, BusPublisher, JetStreamServer, MessagingModule } from '@agency/messaging';
import { AgencyLogger, createLogger, initTelemetry, type AgencyPinoLogger, type Telemetry } from '@agency/telemetry';
import { HealthController } from './health.controller.js';
import { Metrics } from './metrics.js';
import { ServiceState } from './service-state.js';

export interface ServiceSpec<C extends ServiceConfig> {
  service: ServiceName;
  schema: new () => C;
  /** Variables whose values must never be printed, even when invalid. */
  secrets?: readonly string[];
  /** The app's own module, built from its validated configuration. */
  module: (config: C) => DynamicModule | Type;
  http?: { bodyLimitBytes?: number; rawBody?: boolean };
  /** Runs after the app is listening and consuming (e.g. start watching the vault). */
  onReady?: (app: NestFastifyApplication, config: C) => Promise<void> | void;
}

export interface RunningService {
  app: NestFastifyApplication;
  url: string;
  logger: AgencyPinoLogger;
  close(): Promise<void>;
}

export const SERVICE_LOGGER = Symbol('SERVICE_LOGGER');

class TelemetryCloser implements OnApplicationShutdown {
  constructor(private readonly telemetry: Telemetry) {}
  async onApplicationShutdown(): Promise<void> {
    await this.telemetry.shutdown();
  }
}

/**
 * Boots one service as its own process: validated configuration (fail fast, naming the
 * variable), telemetry, JSON logs, NATS, the JetStream transport, health and metrics over HTTP,
 * and a graceful shutdown on SIGTERM/SIGINT that stops consuming before it drains the bus.
 */
export async function runService<C extends ServiceConfig>(spec: ServiceSpec<C>, env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  let config: C;
  try {
    config = loadConfig(spec.service, spec.schema, env, spec.secrets);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const telemetry = initTelemetry({ serviceName: spec.service, env });
  const logger = createLogger({ service: spec.service, level: config.LOG_LEVEL });
  const instanceId = config.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const state = new ServiceState();
  const metrics = new Metrics(spec.service);

  // Global, so the app's own modules can inject its config class, state, metrics and logger.
  const core: DynamicModule = {
    module: class ServiceCoreModule {},
    global: true,
    providers: [
      { provide: spec.schema, useValue: config },
      { provide: ServiceState, useValue: state },
      { provide: Metrics, useValue: metrics },
      { provide: SERVICE_LOGGER, useValue: logger },
      { provide: TelemetryCloser, useValue: new TelemetryCloser(telemetry) },
    ],
    exports: [spec.schema, ServiceState, Metrics, SERVICE_LOGGER],
  };

  @Module({
    imports: [core, MessagingModule.forRoot({ service: spec.service, natsUrl: config.NATS_URL, instanceId }), spec.module(config)],
    controllers: [HealthController],
  })
  class RootModule {}

  const adapter = new FastifyAdapter({ bodyLimit: spec.http?.bodyLimitBytes ?? 10 * 1024 * 1024 });
  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(RootModule, adapter, {
      logger: new AgencyLogger(logger),
      rawBody: spec.http?.rawBody ?? false,
      abortOnError: false,
    });
  } catch (e) {
    logger.fatal({ err: e }, `${spec.service} failed to start: ${(e as Error).message}`);
    await telemetry.shutdown();
    process.exit(1);
  }
  const transport = new JetStreamServer({
    service: spec.service,
    bus: app.get(BusConnection),
    publisher: app.get(BusPublisher),
    logger,
    concurrency: config.BUS_CONCURRENCY,
    maxDeliver: config.BUS_MAX_DELIVER,
    ackWaitMs: config.BUS_ACK_WAIT_SECONDS * 1000,
  });
  state.transport = transport;
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: false });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  const url = await app.getUrl();
  await spec.onReady?.(app, config);
  state.ready = true;
  logger.info({ url, instanceId, nats: config.NATS_URL.replace(/\/\/[^@]*@/, '//'), traces: telemetry.destinations }, `${spec.service} ready`);
  return { app, url, logger, close: () => app.close() };
}
