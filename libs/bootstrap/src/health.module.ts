import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { ServiceHealthIndicator } from './service-health.indicator.js';

/**
 * /health/live, /health/ready and /metrics. Needs ServiceState, Metrics and BusConnection from a
 * global module (runService's core and MessagingModule, the dashboard's core). Terminus does not
 * log failed checks: probes come every few seconds, and the bus logs its own losses once.
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ServiceHealthIndicator],
})
export class HealthModule {}
