import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Metrics, SERVICE_LOGGER } from '@agency/bootstrap';
import type { DashboardEvent } from '@agency/contracts';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { DashboardConfig } from '../dashboard.config.js';
import { EventStreamClient, type EventEnvelope, type EventFollow, type StreamedEvent } from './event-stream.client.js';

/** What the model calls of one step cost. */
export interface StepCost {
  costUsd: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

export type FeedListener = (e: DashboardEvent) => void;

const RECENT_PER_SAGA = 200;
const RECENT_ALL = 300;

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** A one-line description of an event, from the payload fields the services use. */
export function summarize(env: EventEnvelope): string {
  const p = env.payload;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);
  switch (env.type) {
    case 'orchestrator.fr-state-changed':
      return `${str(p.from) ?? '?'} -> ${str(p.to) ?? '?'}${p.reason ? `: ${str(p.reason)}` : ''}`;
    case 'llm-gateway.usage':
      return `${str(p.model) ?? 'model'}${num(p.calls) > 1 ? ` (${num(p.calls)} calls)` : ''}: ${num(p.inputTokens)} in / ${num(p.outputTokens)} out tokens, $${num(p.costUsd).toFixed(4)}`;
    case 'router.scored':
      return `score ${str(p.score) ?? '?'}, tier ${str(p.tier) ?? '?'}`;
    case 'reviewer.reviewed':
      return `${str(p.verdict) ?? 'reviewed'}${p.confidence !== undefined ? ` (confidence ${str(p.confidence)})` : ''}`;
    case 'agent-runner.tested':
      return p.passed === true ? 'tests passed' : p.passed === false ? 'tests failed' : 'tested';
    default:
      return (str(p.summary) ?? str(p.reason) ?? str(p.url) ?? str(p.message) ?? '').slice(0, 200);
  }
}

/**
 * The dashboard's read model of the event stream: model cost per saga and step (from
 * `llm-gateway.usage` events, which carry the step of the call), the recent events per FR, and
 * live fan-out to the browsers' server-sent-event streams once the replay has caught up.
 */
@Injectable()
export class EventFeedService implements OnModuleInit, OnApplicationShutdown {
  private readonly costs = new Map<string, Map<string, StepCost>>();
  private readonly recentBySaga = new Map<string, DashboardEvent[]>();
  private readonly recent: DashboardEvent[] = [];
  private readonly listeners = new Set<FeedListener>();
  private lastSeq = 0;
  private follow?: EventFollow;
  caughtUp = false;

  constructor(
    private readonly stream: EventStreamClient,
    private readonly config: DashboardConfig,
    private readonly metrics: Metrics,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    this.metrics.gauge('agency_dashboard_sse_clients', 'Browsers following the live event stream').set(0);
  }

  async onModuleInit(): Promise<void> {
    const since = new Date(this.clock.nowMs() - this.config.EVENT_REPLAY_HOURS * 3600_000);
    this.follow = await this.stream.follow(since, {
      event: (e) => this.accept(e),
      caughtUp: () => {
        if (!this.caughtUp) this.logger.info({ events: this.lastSeq }, 'event stream caught up; live from here');
        this.caughtUp = true;
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.listeners.clear();
    await this.follow?.stop();
  }

  /** Takes one event from the stream; a sequence seen before (a re-followed stream) is ignored. */
  accept(e: StreamedEvent): void {
    if (e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    const env = e.envelope;
    this.metrics.counter('agency_dashboard_events_total', 'Events read from the audit stream', ['type']).inc({ type: env.type });
    if (env.type === 'llm-gateway.usage') {
      const bySteps = this.costs.get(env.sagaId) ?? new Map<string, StepCost>();
      const c = bySteps.get(env.step) ?? { costUsd: 0, calls: 0, inputTokens: 0, outputTokens: 0 };
      c.costUsd += num(env.payload.costUsd);
      c.calls += num(env.payload.calls) || 1;
      c.inputTokens += num(env.payload.inputTokens);
      c.outputTokens += num(env.payload.outputTokens);
      bySteps.set(env.step, c);
      this.costs.set(env.sagaId, bySteps);
    }
    const fe: DashboardEvent = {
      seq: e.seq,
      type: env.type,
      frId: env.frId,
      sagaId: env.sagaId,
      step: env.step,
      attempt: env.attempt,
      occurredAt: env.occurredAt,
      summary: summarize(env),
    };
    const list = this.recentBySaga.get(env.sagaId) ?? [];
    list.push(fe);
    if (list.length > RECENT_PER_SAGA) list.shift();
    this.recentBySaga.set(env.sagaId, list);
    this.recent.push(fe);
    if (this.recent.length > RECENT_ALL) this.recent.shift();
    if (this.caughtUp) for (const l of this.listeners) l(fe);
  }

  stepCosts(sagaId: string): ReadonlyMap<string, StepCost> {
    return this.costs.get(sagaId) ?? new Map();
  }

  eventsOf(sagaId: string): readonly DashboardEvent[] {
    return this.recentBySaga.get(sagaId) ?? [];
  }

  latest(limit = 50): DashboardEvent[] {
    return this.recent.slice(-limit).reverse();
  }

  /** Live events only (not the replay); returns the unsubscribe function. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    const gauge = this.metrics.gauge('agency_dashboard_sse_clients', 'Browsers following the live event stream');
    gauge.set(this.listeners.size);
    return () => {
      this.listeners.delete(listener);
      gauge.set(this.listeners.size);
    };
  }
}
