import 'reflect-metadata';
import { hostname } from 'node:os';
import { Module, type DynamicModule, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { ServiceName } from '@agency/contracts';
import { ConfigError, type ServiceConfig } from '@agency/config';
import { BusAuthError, BusConnection, BusPublisher, JetStreamServer, MessagingModule } from '@agency/messaging';
import { createLogger, initTelemetry, type AgencyPinoLogger, type Telemetry } from '@agency/telemetry';
import { DomainMetrics } from './domain-metrics.js';
import { HealthModule } from './health.module.js';
import { HttpSpanInterceptor } from './http-span.interceptor.js';
import { Metrics } from './metrics.js';
import { configureService, type ServiceConfiguration } from './service-config.module.js';
import { serviceLogging } from './service-logging.js';
import { ServiceState } from './service-state.js';

export interface ServiceSpec<C extends ServiceConfig> {
  service: ServiceName;
  schema: new () => C;
  /** Variables whose values must never be printed, even when invalid. */
  secrets?: readonly string[];
  /** The app's own module, built from its validated configuration. */
  module: (config: C) => DynamicModule | Type;
  /** requestLogging: a log line per answered request (default on; off where it costs on a hot path). */
  http?: { bodyLimitBytes?: number; rawBody?: boolean; requestLogging?: boolean };
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

/** Stops the process as a configuration error: the message on stderr, exit code 78 (EX_CONFIG). */
export function failConfig(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(78);
}

/** The app's configuration through ConfigModule, or the process stops with exit code 78 naming what is wrong. */
export async function configureOrExit<C extends object>(
  service: string,
  schema: new () => C,
  env: NodeJS.ProcessEnv,
  secrets?: readonly string[],
): Promise<ServiceConfiguration<C>> {
  try {
    return await configureService(service, schema, env, secrets);
  } catch (e) {
    if (e instanceof ConfigError) failConfig(e.message);
    throw e;
  }
}

/**
 * Boots one service as its own process: validated configuration through @nestjs/config (fail
 * fast, naming the variable), telemetry, JSON logs through nestjs-pino, NATS, the JetStream
 * transport, health (terminus) and metrics over HTTP, and a graceful shutdown on SIGTERM/SIGINT
 * that stops consuming before it drains the bus.
 */
export async function runService<C extends ServiceConfig>(spec: ServiceSpec<C>, env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const configured = await configureOrExit(spec.service, spec.schema, env, spec.secrets);
  const { config } = configured;
  const telemetry = initTelemetry({ serviceName: spec.service, env });
  const logger = createLogger({ service: spec.service, level: config.LOG_LEVEL });
  const instanceId = config.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const state = new ServiceState();
  state.identity = { service: spec.service, instance: instanceId, ...(config.STACK_ID ? { stack: config.STACK_ID } : {}) };
  const metrics = new Metrics(spec.service);
  const logging = serviceLogging(logger, { requests: spec.http?.requestLogging ?? true });

  // Global, so the app's own modules can inject its state, metrics and logger (its config class comes from configured.module).
  const core: DynamicModule = {
    module: class ServiceCoreModule {},
    global: true,
    providers: [
      { provide: ServiceState, useValue: state },
      { provide: Metrics, useValue: metrics },
      { provide: SERVICE_LOGGER, useValue: logger },
      { provide: TelemetryCloser, useValue: new TelemetryCloser(telemetry) },
    ],
    exports: [ServiceState, Metrics, SERVICE_LOGGER],
  };

  @Module({
    imports: [
      configured.module,
      core,
      logging.module,
      MessagingModule.forRoot({
        service: spec.service,
        natsUrl: config.NATS_URL,
        instanceId,
        unreadyAfterMs: config.BUS_UNREADY_AFTER_SECONDS * 1000,
        user: config.NATS_USER,
        password: config.NATS_PASSWORD,
      }),
      spec.module(config),
      HealthModule,
    ],
  })
  class RootModule {}

  const adapter = new FastifyAdapter({ bodyLimit: spec.http?.bodyLimitBytes ?? 10 * 1024 * 1024 });
  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(RootModule, adapter, {
      logger: logging.nestLogger,
      rawBody: spec.http?.rawBody ?? false,
      abortOnError: false,
    });
  } catch (e) {
    await telemetry.shutdown();
    // Wrong or missing NATS credentials are a configuration error like a bad variable.
    if (e instanceof BusAuthError) failConfig(`${spec.service}: ${e.message}`);
    logger.fatal({ err: e }, `${spec.service} failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
  app.useLogger(app.get(NestPinoLogger));
  // The work as metrics: what this service handled (transport) and what its events say (publisher).
  const domainMetrics = new DomainMetrics(metrics);
  app.get(BusPublisher).observe((envelope) => domainMetrics.published(envelope));
  app.useGlobalInterceptors(new HttpSpanInterceptor());
  const transport = new JetStreamServer({
    service: spec.service,
    bus: app.get(BusConnection),
    publisher: app.get(BusPublisher),
    logger,
    concurrency: config.BUS_CONCURRENCY,
    maxDeliver: config.BUS_MAX_DELIVER,
    ackWaitMs: config.BUS_ACK_WAIT_SECONDS * 1000,
    observer: domainMetrics,
  });
  state.transport = transport;
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: false });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  // Listen first: a port that is taken stops the service before it takes any message.
  try {
    await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  } catch (e) {
    const taken = (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
    logger.fatal(
      { err: e },
      `${spec.service} cannot listen on ${config.HTTP_HOST}:${config.HTTP_PORT}: ${taken ? 'the port is in use by another process' : (e as Error).message}`,
    );
    // Shutdown hooks still run: what start-up made (a sandbox warm pool) goes away with the process.
    await app.close().catch(() => undefined);
    process.exit(1);
  }
  await app.startAllMicroservices();
  const url = await app.getUrl();
  await spec.onReady?.(app, config);
  state.ready = true;
  logger.info({ url, instanceId, nats: config.NATS_URL.replace(/\/\/[^@]*@/, '//'), traces: telemetry.destinations }, `${spec.service} ready`);
  return { app, url, logger, close: () => app.close() };
}
