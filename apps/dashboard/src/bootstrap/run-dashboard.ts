import 'reflect-metadata';
import { hostname } from 'node:os';
import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { HealthController, Metrics, SERVICE_LOGGER, ServiceState } from '@agency/bootstrap';
import { ConfigError, loadConfig } from '@agency/config';
import { BusConnection } from '@agency/messaging';
import { AgencyLogger, createLogger, initTelemetry, type AgencyPinoLogger, type Telemetry } from '@agency/telemetry';
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
 * wires the same pieces itself: validated config, JSON logs, one NATS connection, /health/live,
 * /health/ready (NATS connected, event stream caught up) and /metrics.
 */
export async function createDashboardApp(config: DashboardConfig, logger: AgencyPinoLogger, telemetry?: Telemetry): Promise<RunningDashboard> {
  const instanceId = config.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const bus = await BusConnection.connect({ servers: config.NATS_URL, name: `${DASHBOARD_SERVICE}@${instanceId}` });
  const state = new ServiceState();
  const core: DynamicModule = {
    module: class DashboardCoreModule {},
    global: true,
    providers: [
      { provide: DashboardConfig, useValue: config },
      { provide: ServiceState, useValue: state },
      { provide: Metrics, useValue: new Metrics(DASHBOARD_SERVICE) },
      { provide: SERVICE_LOGGER, useValue: logger },
      { provide: BusConnection, useValue: bus },
      { provide: Closer, useValue: new Closer(bus, telemetry) },
    ],
    exports: [DashboardConfig, ServiceState, Metrics, SERVICE_LOGGER, BusConnection],
  };

  @Module({ imports: [core, DashboardModule.forRoot(config)], controllers: [HealthController] })
  class RootModule {}

  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(RootModule, new FastifyAdapter({ bodyLimit: 64 * 1024, forceCloseConnections: true }), {
      logger: new AgencyLogger(logger),
      abortOnError: false,
    });
  } catch (e) {
    await bus.close();
    throw e;
  }
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
  let config: DashboardConfig;
  try {
    config = loadConfig(DASHBOARD_SERVICE, DashboardConfig, env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const telemetry = initTelemetry({ serviceName: DASHBOARD_SERVICE, env });
  const logger = createLogger({ service: DASHBOARD_SERVICE, level: config.LOG_LEVEL });
  try {
    return await createDashboardApp(config, logger, telemetry);
  } catch (e) {
    logger.fatal({ err: e }, `dashboard failed to start: ${(e as Error).message}`);
    await telemetry.shutdown();
    process.exit(1);
  }
}
