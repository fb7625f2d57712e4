import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { BusConnection } from '@agency/messaging';
import { ServiceState } from './service-state.js';

/**
 * What readiness checks, as terminus indicators: NATS reachable (a loss shorter than
 * BUS_UNREADY_AFTER_SECONDS is a blip and stays up), the JetStream transport consuming (bus
 * services only), start-up finished, and each check the app registered on ServiceState.
 */
/** One indicator: terminus's HealthIndicatorFunction, without its builder form. */
export type ServiceIndicator = () => HealthIndicatorResult | Promise<HealthIndicatorResult>;

@Injectable()
export class ServiceHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly bus: BusConnection,
    private readonly state: ServiceState,
  ) {}

  /** The indicators of one readiness check, in the order they are reported. */
  all(): ServiceIndicator[] {
    const checks: ServiceIndicator[] = [() => this.nats(), () => this.startup()];
    if (this.state.transport) checks.splice(1, 0, () => this.transport());
    for (const [name, check] of this.state.checks) checks.push(() => this.appCheck(name, check));
    return checks;
  }

  nats(): HealthIndicatorResult<'nats'> {
    const readiness = this.bus.readiness;
    const nats = this.indicators.check('nats');
    return readiness === 'ok' ? nats.up() : nats.down({ message: readiness });
  }

  transport(): HealthIndicatorResult<'transport'> {
    const transport = this.indicators.check('transport');
    return this.state.transport?.running ? transport.up() : transport.down({ message: 'stopped' });
  }

  startup(): HealthIndicatorResult<'startup'> {
    const startup = this.indicators.check('startup');
    return this.state.ready ? startup.up() : startup.down({ message: 'starting' });
  }

  /** An app's own check answers undefined when fine, or what is wrong; a throw is what is wrong too. */
  private async appCheck(name: string, check: () => Promise<string | undefined>): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(name);
    const problem = await check().catch((e: Error) => e.message);
    return problem === undefined ? indicator.up() : indicator.down({ message: problem });
  }
}
