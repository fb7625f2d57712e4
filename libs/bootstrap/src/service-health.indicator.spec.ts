import { HealthIndicatorService } from '@nestjs/terminus';
import type { BusConnection } from '@agency/messaging';
import { ServiceHealthIndicator } from './service-health.indicator.js';
import { ServiceState } from './service-state.js';

const busAnswering = (readiness: string) => ({ readiness }) as unknown as BusConnection;

/** Runs every indicator of a readiness check and merges their results, as terminus does. */
async function results(indicator: ServiceHealthIndicator): Promise<Record<string, unknown>> {
  const all = await Promise.all(indicator.all().map((check) => check()));
  return Object.assign({}, ...all) as Record<string, unknown>;
}

describe('ServiceHealthIndicator', () => {
  it('is up for a started service on a reachable bus, with no transport indicator where there is no transport', async () => {
    const state = new ServiceState();
    state.ready = true;
    expect(await results(new ServiceHealthIndicator(new HealthIndicatorService(), busAnswering('ok'), state))).toEqual({
      nats: { status: 'up' },
      startup: { status: 'up' },
    });
  });

  it("says what is down: the bus's own words, start-up not finished, and an app check's answer or its error", async () => {
    const state = new ServiceState();
    state.checks.set('events', async () => 'replaying the event stream');
    state.checks.set('vault', async () => {
      throw new Error('vault unreadable');
    });
    state.checks.set('fine', async () => undefined);
    expect(await results(new ServiceHealthIndicator(new HealthIndicatorService(), busAnswering('unreachable for 20 s (reconnecting)'), state))).toEqual({
      nats: { status: 'down', message: 'unreachable for 20 s (reconnecting)' },
      startup: { status: 'down', message: 'starting' },
      events: { status: 'down', message: 'replaying the event stream' },
      vault: { status: 'down', message: 'vault unreadable' },
      fine: { status: 'up' },
    });
  });
});
