import { Controller, Get, Header, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Metrics } from './metrics.js';
import { ServiceHealthIndicator } from './service-health.indicator.js';
import { ServiceState } from './service-state.js';

/** Which process answered: its service, replica and the local stack that started it (if any). */
export interface HealthIdentity {
  service: string;
  instance: string;
  stack?: string;
}

/** Terminus's result (status, info, error, details per indicator) with who answered and since when. */
export type HealthReport = HealthCheckResult & HealthIdentity & { uptimeSeconds: number };

@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: ServiceHealthIndicator,
    private readonly state: ServiceState,
    private readonly metrics: Metrics,
  ) {}

  /** Liveness: the process answers (a lost bus is readiness's business, not a reason to restart). */
  @Get('health/live')
  live(): { status: 'ok' } & HealthIdentity {
    return { status: 'ok', ...this.state.identity };
  }

  /**
   * Readiness through terminus: 200 when every indicator is up, 503 otherwise and while the app
   * shuts down. Both answers name the process, so a stack that polls a port knows it reached its
   * own service and not another one's.
   */
  @Get('health/ready')
  @HealthCheck()
  async ready(): Promise<HealthReport> {
    try {
      return this.report(await this.health.check(this.indicators.all()));
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      throw new ServiceUnavailableException(this.report(e.getResponse() as HealthCheckResult));
    }
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async prometheus(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  private report(result: HealthCheckResult): HealthReport {
    return { ...result, ...this.state.identity, uptimeSeconds: Math.round((Date.now() - this.state.startedAt.getTime()) / 1000) };
  }
}
