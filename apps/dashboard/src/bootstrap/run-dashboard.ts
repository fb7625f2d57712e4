import 'reflect-metadata';
import { hostname } from 'node:os';
import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import { configureOrExit, failConfig, HealthModule, Metrics, SERVICE_LOGGER, ServiceState, serviceLogging, type ServiceConfiguration } from '@agency/bootstrap';
import { BusAuthError, BusConnection } from '@agency/messaging';
import { createLogger, initTelemetry, type AgencyPinoLogger, type Telemetry } from '@agency/telemetry';
import { DashboardConfig } from '../dashboard.config.js';
import { DashboardModule } from '../dashboard.module.js';
import { EventFeedService } from '../events/event-feed.service.js';

export const DASHBOARD_SERVICE = 'dashboard';

export interface RunningDashboard {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

/** Drains NATS after the event feed has stopped, then flushes spans. */
class Closer implements OnApplicationShutdown {
  constructor(
    private readonly bus: BusConnection,
    private readonly telemetry?: Telemetry,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
    await this.telemetry?.shutdown();
  }
}

/**
 * The dashboard as a Nest app on Fastify. Not `runService`: the dashboard is no bus service (it
 * consumes no commands and owns no durable consumer, and `ServiceName` does not list it), so it
 * wires the same pieces itself: config through ConfigModule, logs through nestjs-pino, one NATS
 * connection, /health/live, /health/ready (terminus: NATS connected, event stream caught up) and
 * /metrics.
 */
export async function createDashboardApp(
  configured: ServiceConfiguration<DashboardConfig>,
  logger: AgencyPinoLogger,
  telemetry?: Telemetry,
): Promise<RunningDashboard> {
  const { config } = configured;
  const instanceId = config.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const bus = await BusConnection.connect({
    servers: config.NATS_URL,
    name: `${DASHBOARD_SERVICE}@${instanceId}`,
    unreadyAfterMs: config.BUS_UNREADY_AFTER_SECONDS * 1000,
    user: config.NATS_USER,
    password: config.NATS_PASSWORD,
  });
  const state = new ServiceState();
  state.identity = { service: DASHBOARD_SERVICE, instance: instanceId, ...(config.STACK_ID ? { stack: config.STACK_ID } : {}) };
  const core: DynamicModule = {
    module: class DashboardCoreModule {},
    global: true,
    providers: [
      { provide: ServiceState, useValue: state },
      { provide: Metrics, useValue: new Metrics(DASHBOARD_SERVICE) },
      { provide: SERVICE_LOGGER, useValue: logger },
      { provide: BusConnection, useValue: bus },
      { provide: Closer, useValue: new Closer(bus, telemetry) },
    ],
    exports: [ServiceState, Metrics, SERVICE_LOGGER, BusConnection],
  };
  const logging = serviceLogging(logger, { requests: true });

  @Module({ imports: [configured.module, core, logging.module, DashboardModule.forRoot(config), HealthModule] })
  class RootModule {}

  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(RootModule, new FastifyAdapter({ bodyLimit: 64 * 1024, forceCloseConnections: true }), {
      logger: logging.nestLogger,
      abortOnError: false,
    });
  } catch (e) {
    await bus.close();
    throw e;
  }
  app.useLogger(app.get(NestPinoLogger));
  const feed = app.get(EventFeedService);
  state.checks.set('events', async () => (feed.caughtUp ? undefined : 'replaying the event stream'));
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  state.ready = true;
  const url = await app.getUrl();
  logger.info({ url, instanceId, orchestrator: config.ORCHESTRATOR_URL, registry: config.REGISTRY_URL }, 'dashboard ready');
  return { app, url, close: () => app.close() };
}

/** The process entry point: fail fast with exit code 78 on bad configuration, like every service. */
export async function runDashboard(env: NodeJS.ProcessEnv = process.env): Promise<RunningDashboard> {
  const configured = await configureOrExit(DASHBOARD_SERVICE, DashboardConfig, env);
  const telemetry = initTelemetry({ serviceName: DASHBOARD_SERVICE, env });
  const logger = createLogger({ service: DASHBOARD_SERVICE, level: configured.config.LOG_LEVEL });
  try {
    return await createDashboardApp(configured, logger, telemetry);
  } catch (e) {
    await telemetry.shutdown();
    if (e instanceof BusAuthError) failConfig(`${DASHBOARD_SERVICE}: ${e.message}`);
    logger.fatal({ err: e }, `dashboard failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
}
