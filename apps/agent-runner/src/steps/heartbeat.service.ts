import { Inject, Injectable } from '@nestjs/common';
import { Messages, type Envelope } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { Timers } from './timers.js';

export interface Heartbeat {
  /** What the next beats say (e.g. "step 4/30: run_command"); the step's activity stays in front. */
  update(message: string): void;
  /** Stops beating; resolves once the last beat is published, so none arrives after the step's result. */
  stop(): Promise<void>;
}

/**
 * Publishes agent-runner.heartbeat for a running step: once at the start, then every
 * HEARTBEAT_SECONDS. Each beat has its own Nats-Msg-Id (the default dedupe id is one per step),
 * with a per-run part so a redelivered command's beats are not dropped as duplicates.
 */
@Injectable()
export class HeartbeatService {
  private readonly intervalMs: number;

  constructor(
    private readonly bus: BusPublisher,
    private readonly timers: Timers,
    private readonly clock: Clock,
    config: AgentRunnerConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    this.intervalMs = config.HEARTBEAT_SECONDS * 1000;
  }

  start(env: Envelope<unknown>, message: string): Heartbeat {
    const run = this.clock.uuid().slice(0, 8);
    let text = message.slice(0, 500);
    let n = 0;
    let last: Promise<void> = Promise.resolve();
    const beat = () => {
      const msgId = `${env.sagaId}:${env.step}:${env.attempt}:hb:${run}:${n}`;
      n += 1;
      const said = text;
      last = last
        .then(() => this.bus.reply(env, Messages.AgentHeartbeat, { message: said }, {}, { msgId }))
        .then(
          () => undefined,
          (err: unknown) => this.logger.warn({ err, step: env.step }, 'heartbeat not published'),
        );
    };
    beat();
    const cancel = this.timers.every(this.intervalMs, beat);
    return {
      update: (detail: string) => {
        text = `${message}: ${detail}`.slice(0, 500);
      },
      stop: async () => {
        cancel();
        await last;
      },
    };
  }
}
