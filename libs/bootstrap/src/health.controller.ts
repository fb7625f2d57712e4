import { Controller, Get, Header, HttpException, HttpStatus } from '@nestjs/common';
import { BusConnection } from '@agency/messaging';
import { Metrics } from './metrics.js';
import { ServiceState } from './service-state.js';

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, string>;
  uptimeSeconds: number;
}

@Controller()
export class HealthController {
  constructor(
    private readonly state: ServiceState,
    private readonly bus: BusConnection,
    private readonly metrics: Metrics,
  ) {}

  /** Liveness: the process answers. */
  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: connected to NATS, consuming, and every app-specific check passes. */
  @Get('health/ready')
  async ready(): Promise<HealthReport> {
    const checks: Record<string, string> = {
      nats: this.bus.connected ? 'ok' : 'disconnected',
      transport: this.state.transport ? (this.state.transport.running ? 'ok' : 'stopped') : 'none',
      startup: this.state.ready ? 'ok' : 'starting',
    };
    for (const [name, check] of this.state.checks) {
      checks[name] = (await check().catch((e: Error) => e.message)) ?? 'ok';
    }
    const ok = Object.values(checks).every((v) => v === 'ok' || v === 'none');
    const report: HealthReport = { status: ok ? 'ok' : 'unavailable', checks, uptimeSeconds: Math.round((Date.now() - this.state.startedAt.getTime()) / 1000) };
    if (!ok) throw new HttpException(report, HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async prometheus(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
