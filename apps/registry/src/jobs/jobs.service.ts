import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Messages, type CompleteJobCommand, type EnqueueJobCommand, type Envelope, type JobOutcome } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusConnection, BusPublisher, Clock, dayOf, daysAfter, Lease } from '@agency/messaging';
import { context, contextFromTraceparent, injectTraceContext, withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import { RegistryConfig } from '../registry.config.js';
import { JobRepository } from './job.repository.js';
import { jobIdFor, type Job } from './job.model.js';
import { LimitsRepository } from './limits.repository.js';
import { pickJobs, queuePosition } from './queue-policy.js';

const DAY_MS = 24 * 3600_000;
const ARCHIVE_EVERY_MS = 10 * 60_000;

/** Jobs, their queue and their slots (FR-046). Dispatching reads the live jobs only (an index), never every job stored. */
@Injectable()
export class JobsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private dispatching?: Promise<void>;
  private again = false;
  private archivedAt = 0;
  private indexed = false;
  /** Exactly one replica dispatches; another takes over when its lease lapses. */
  private readonly lease: Lease;

  constructor(
    private readonly jobs: JobRepository,
    private readonly limits: LimitsRepository,
    private readonly bus: BusPublisher,
    private readonly clock: Clock,
    private readonly config: RegistryConfig,
    connection: BusConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    const holder = config.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
    this.lease = new Lease(connection, clock, 'registry', 'dispatcher', holder, Math.max(3 * config.DISPATCH_INTERVAL_MS, 5000));
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.dispatch(), this.config.DISPATCH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.dispatching;
    await this.lease.release().catch(() => undefined);
  }

  /** Idempotent: one job per job id (the saga names each lap's job; without one, the saga id names it). */
  async enqueue(env: Envelope<EnqueueJobCommand>): Promise<Job> {
    const jobId = env.jobId ?? jobIdFor(env.sagaId);
    const job: Job = {
      jobId,
      frId: env.frId,
      sagaId: env.sagaId,
      repo: env.payload.repo,
      priority: env.payload.priority,
      tier: env.payload.tier,
      state: 'queued',
      enqueuedAt: this.clock.now().toISOString(),
      dispatches: 0,
    };
    injectTraceContext((k, v) => {
      if (k === 'traceparent') job.traceparent = v;
    }, context.active());
    const created = await this.jobs.create(job);
    const current = created ? job : ((await this.jobs.get(jobId))?.value ?? job);
    const position = queuePosition(await this.jobs.live(), jobId, this.clock.nowMs(), this.config.AGEING_STEP_MS);
    await this.bus.reply(env, Messages.JobQueued, { jobId, position }, { jobId });
    if (current.state === 'running') await this.publishDispatched(current);
    void this.dispatch();
    return current;
  }

  async complete(env: Envelope<CompleteJobCommand>): Promise<void> {
    const jobId = env.jobId ?? jobIdFor(env.sagaId);
    const done = await this.finish(jobId, env.payload.outcome, env.payload.reason);
    if (done)
      await this.bus.reply(env, Messages.JobFinished, { jobId, outcome: done.state as JobOutcome, ...(done.reason ? { reason: done.reason } : {}) }, { jobId });
    void this.dispatch();
  }

  async cancel(env: Envelope<{ reason: string }>): Promise<void> {
    const jobId = env.jobId ?? jobIdFor(env.sagaId);
    const done = await this.finish(jobId, 'cancelled', env.payload.reason);
    if (done) await this.bus.reply(env, Messages.JobFinished, { jobId, outcome: done.state as JobOutcome, reason: env.payload.reason }, { jobId });
    void this.dispatch();
  }

  private async finish(jobId: string, outcome: JobOutcome, reason?: string): Promise<Job | undefined> {
    const result = await this.jobs.mutate(jobId, (job) => {
      if (!job) return undefined;
      if (job.state !== 'queued' && job.state !== 'running') return undefined; // already finished: keep the first outcome
      return { ...job, state: outcome, finishedAt: this.clock.now().toISOString(), ...(reason ? { reason } : {}) };
    });
    if (!result) this.logger.warn({ jobId }, 'complete/cancel for an unknown job');
    else await this.jobs.finished(jobId, new Date(result.value.finishedAt ?? this.clock.now()));
    return result?.value;
  }

  async list(): Promise<Job[]> {
    return (await this.jobs.stored(this.clock.now(), this.config.JOB_RETENTION_HOURS)).sort((a, b) => a.enqueuedAt.localeCompare(b.enqueuedAt));
  }

  /** Starts what the limits allow. One pass at a time per process; a request during a pass runs another. */
  dispatch(): Promise<void> {
    if (this.dispatching) {
      this.again = true;
      return this.dispatching;
    }
    this.dispatching = (async () => {
      do {
        this.again = false;
        await this.dispatchOnce().catch((e: Error) => this.logger.error({ err: e }, 'dispatch pass failed'));
      } while (this.again);
    })().finally(() => (this.dispatching = undefined));
    return this.dispatching;
  }

  /** Dispatching stops (running jobs go on; enqueueing still works) until resumed; kept in KV for every replica. */
  async setPaused(paused: boolean, by: string): Promise<{ paused: boolean; by: string; at: string }> {
    const state = { paused, by, at: this.clock.now().toISOString() };
    await this.jobs.putControl(state);
    this.logger.info(state, paused ? 'dispatching paused' : 'dispatching resumed');
    if (!paused) void this.dispatch();
    return state;
  }

  async control(): Promise<{ paused: boolean; by?: string; at?: string }> {
    return (await this.jobs.getControl()) ?? { paused: false };
  }

  private async dispatchOnce(): Promise<void> {
    if (!(await this.lease.acquire())) return;
    if (!this.indexed) {
      // Once per process: a store from before the live index gets one (a failure is tried again next pass).
      const found = await this.jobs.buildIndex(this.clock.now());
      if (found > 0) this.logger.info({ jobs: found }, 'job index built from the store');
      this.indexed = true;
    }
    await this.archive();
    if ((await this.control()).paused) return;
    for (const pick of pickJobs(await this.jobs.live(), this.limits.current(), this.clock.nowMs(), this.config.AGEING_STEP_MS)) {
      // A pause that came while this pass read the jobs holds from the next start on.
      if ((await this.control()).paused) return;
      const started = await this.jobs.mutate(pick.jobId, (job) =>
        job?.state === 'queued' ? { ...job, state: 'running', dispatchedAt: this.clock.now().toISOString(), dispatches: job.dispatches + 1 } : undefined,
      );
      if (started?.value.state === 'running' && started.value.dispatchedAt) await this.publishDispatched(started.value);
    }
  }

  /**
   * Finished jobs older than JOB_RETENTION_HOURS leave the store, day by day once the whole day is
   * past the retention (at most every 10 minutes). A pass goes through every day since the last
   * one (kept in the bucket), so a registry that was down for weeks leaves nothing behind.
   */
  private async archive(): Promise<void> {
    const now = this.clock.nowMs();
    if (now - this.archivedAt < ARCHIVE_EVERY_MS) return;
    this.archivedAt = now;
    const retentionMs = this.config.JOB_RETENTION_HOURS * 3600_000;
    const through = dayOf(new Date(now - retentionMs - DAY_MS));
    const last = await this.jobs.archivedThrough();
    if (last !== undefined && last >= through) return;
    for (const day of await this.daysToArchive(last, through)) await this.archiveDay(day, now, retentionMs);
    await this.jobs.markArchivedThrough(through);
  }

  /** The days after `last` up to `through`; on a store's first pass, every day filed up to `through`. */
  private async daysToArchive(last: string | undefined, through: string): Promise<string[]> {
    if (last === undefined) return (await this.jobs.finishedDays()).filter((day) => day <= through);
    return daysAfter(last, through);
  }

  private async archiveDay(day: string, now: number, retentionMs: number): Promise<void> {
    const ids = await this.jobs.finishedOn(day);
    if (ids.length === 0) return;
    for (const jobId of ids) {
      const job = (await this.jobs.get(jobId))?.value;
      if (job && job.state !== 'queued' && job.state !== 'running' && Date.parse(job.finishedAt ?? job.enqueuedAt) + retentionMs < now)
        await this.jobs.erase(jobId);
    }
    await this.jobs.dropDay(day);
    this.logger.info({ day, jobs: ids.length }, 'finished jobs archived');
  }

  private async publishDispatched(job: Job): Promise<void> {
    const waitedMs = Math.max(0, Date.parse(job.dispatchedAt ?? job.enqueuedAt) - Date.parse(job.enqueuedAt));
    await withSpan(
      'job.dispatch',
      { parent: contextFromTraceparent(job.traceparent), attributes: { 'agency.job_id': job.jobId, 'agency.fr_id': job.frId, 'agency.waited_ms': waitedMs } },
      () =>
        this.bus.publish(Messages.JobDispatched, {
          frId: job.frId,
          sagaId: job.sagaId,
          jobId: job.jobId,
          step: 'dispatch',
          attempt: Math.max(1, job.dispatches),
          payload: { jobId: job.jobId, waitedMs },
        }),
    );
    this.logger.info({ jobId: job.jobId, frId: job.frId, waitedMs }, 'job dispatched');
  }
}
