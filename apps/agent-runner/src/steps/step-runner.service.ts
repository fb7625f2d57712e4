import { Inject, Injectable } from '@nestjs/common';
import { Messages, type AnyMessageDef, type Envelope, type PayloadOf, type StepFailedEvent } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, IdempotencyStore } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { EnvironmentWarmup } from '../environment/environment-warmup.service.js';
import { HeartbeatService } from './heartbeat.service.js';
import { JobAborts } from './job-aborts.js';
import { JobCancellations } from './job-cancellations.js';
import { JobLocks } from './job-locks.js';
import { jobIdOf } from './step-ids.js';
import { stepFailureOf } from './step-failure.js';

/** What a step ended with, as recorded for redeliveries. */
export type StepOutcome<P> = { ok: true; payload: P } | { ok: false; failure: StepFailedEvent };

/**
 * Runs one step of a command: heartbeats while it works, its outcome recorded once per
 * saga/step/attempt (a redelivered command re-emits the recorded answer instead of committing
 * again), then the answer published. Handled failures (unusable model answer, empty change)
 * become agent-runner.step-failed; anything else is thrown so the transport retries it.
 */
@Injectable()
export class StepRunner {
  constructor(
    private readonly bus: BusPublisher,
    private readonly once: IdempotencyStore,
    private readonly heartbeats: HeartbeatService,
    private readonly cancellations: JobCancellations,
    private readonly jobLocks: JobLocks,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    private readonly aborts: JobAborts,
    // Named by class: a Pick type gives Nest nothing to inject by (an @Optional one then stayed undefined, and a
    // code step ran into the warm-up's sandbox session in a replay).
    @Inject(EnvironmentWarmup) private readonly warmup: Pick<EnvironmentWarmup, 'settle' | 'activity'>,
  ) {}

  /** `work` may report progress (the heartbeats carry it) and gets the job's abort signal (a cancel ends its model calls at once). */
  async run<D extends AnyMessageDef>(
    env: Envelope<unknown>,
    def: D,
    activity: string,
    work: (progress: (message: string) => void, signal: AbortSignal) => Promise<PayloadOf<D>>,
  ): Promise<StepOutcome<PayloadOf<D>>> {
    if (await this.cancellations.isCancelled(jobIdOf(env))) {
      // A step of a stopped job (redelivered, or queued behind the cancel): no worktree, no container.
      const failure: StepFailedEvent = { code: 'JOB_CANCELLED', reason: 'the job was cancelled', retryable: false };
      this.logger.info({ step: env.step, attempt: env.attempt }, 'job was cancelled; step skipped');
      await this.bus.reply(env, Messages.AgentStepFailed, failure);
      return { ok: false, failure };
    }
    const key = `${env.sagaId}:${env.step}:${env.attempt}`;
    // One step of a job at a time: a re-driven attempt must not reset the worktree under the one still running.
    const { result, replayed } = await this.jobLocks.run(jobIdOf(env), () =>
      this.once.once<StepOutcome<PayloadOf<D>>>(key, async () => {
        const heartbeat = this.heartbeats.start(env, activity);
        try {
          // The plan step's background work on the job's environment is part of that step: the next one waits for it, and says so.
          const building = this.warmup.activity(jobIdOf(env));
          if (building) heartbeat.update(`waiting for the job's environment, built since planning (${building})`);
          await this.warmup.settle(jobIdOf(env));
          return { ok: true, payload: await work((message) => heartbeat.update(message), this.aborts.signalFor(jobIdOf(env))) };
        } catch (error) {
          const failure = stepFailureOf(error);
          if (!failure) throw error;
          return { ok: false, failure };
        } finally {
          await heartbeat.stop();
        }
      }),
    );
    if (replayed) this.logger.info({ step: env.step, attempt: env.attempt, ok: result.ok }, 'step already done; re-sending its recorded result');
    if (result.ok) {
      await this.bus.reply(env, def, result.payload);
    } else {
      this.logger.warn({ step: env.step, code: result.failure.code, reason: result.failure.reason }, 'step failed');
      await this.bus.reply(env, Messages.AgentStepFailed, result.failure);
    }
    return result;
  }
}
