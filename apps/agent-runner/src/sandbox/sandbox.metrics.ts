import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Metrics } from '@agency/bootstrap';
import { DockerSandbox } from './docker/docker.sandbox.js';
import { Sandbox } from './sandbox.js';

/**
 * The sandbox pool as gauges, read when Prometheus scrapes: warm containers ready and starting,
 * and sandboxes in use by jobs. SANDBOX=process has no pool: nothing is registered.
 */
@Injectable()
export class SandboxMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly sandbox: Sandbox,
  ) {}

  onModuleInit(): void {
    const sandbox = this.sandbox;
    if (!(sandbox instanceof DockerSandbox)) return;
    const registers = [this.metrics.registry];
    if (this.metrics.registry.getSingleMetric('agency_sandbox_pool_containers')) return;
    new Gauge({
      name: 'agency_sandbox_pool_containers',
      help: 'Warm sandbox containers of the pool, ready or starting',
      labelNames: ['state'],
      registers,
      collect() {
        const s = sandbox.stats();
        this.set({ state: 'ready' }, s.ready);
        this.set({ state: 'starting' }, s.starting);
      },
    });
    new Gauge({
      name: 'agency_sandbox_sessions',
      help: 'Sandboxes in use by jobs',
      registers,
      collect() {
        this.set(sandbox.stats().sessions);
      },
    });
  }
}
