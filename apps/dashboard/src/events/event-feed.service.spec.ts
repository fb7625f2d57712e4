import { Metrics } from '@agency/bootstrap';
import type { DashboardEvent } from '@agency/contracts';
import { Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { DashboardConfig } from '../dashboard.config.js';
import { EventFeedService, summarize } from './event-feed.service.js';
import type { EventEnvelope, EventSink, EventStreamClient, StreamedEvent } from './event-stream.client.js';

class FakeStream {
  sink?: EventSink;
  since?: Date;
  stopped = false;
  async follow(since: Date, sink: EventSink) {
    this.since = since;
    this.sink = sink;
    return { stop: async () => void (this.stopped = true) };
  }
}

class FixedClock extends Clock {
  override nowMs(): number {
    return Date.UTC(2026, 0, 4);
  }
}

function env(type: string, step: string, payload: Record<string, unknown>, sagaId = 'FR-1-r1'): EventEnvelope {
  return { id: `${type}-${step}`, type, frId: sagaId.replace(/-r\d+$/, ''), sagaId, step, attempt: 1, occurredAt: '2026-01-01T00:00:00.000Z', payload };
}
const usage = (costUsd: number, inputTokens = 10, outputTokens = 5) => ({
  alias: 'coder',
  provider: 'scripted',
  model: 'scripted/coder',
  inputTokens,
  cachedInputTokens: 0,
  outputTokens,
  costUsd,
  latencyMs: 3,
  status: 'ok',
});

describe('EventFeedService', () => {
  let stream: FakeStream;
  let feed: EventFeedService;
  let seq = 0;
  const push = (e: EventEnvelope) => stream.sink!.event({ seq: ++seq, subject: `agency.evt.${e.type}.v1`, envelope: e } satisfies StreamedEvent);

  beforeEach(async () => {
    stream = new FakeStream();
    const config = Object.assign(new DashboardConfig(), { EVENT_REPLAY_HOURS: 24 });
    feed = new EventFeedService(
      stream as unknown as EventStreamClient,
      config,
      new Metrics('dashboard-test'),
      new FixedClock(),
      createLogger({ service: 'test', level: 'silent' }),
    );
    await feed.onModuleInit();
  });

  it('replays from EVENT_REPLAY_HOURS ago and adds model cost per saga and step', () => {
    expect(stream.since?.toISOString()).toBe('2026-01-03T00:00:00.000Z');
    push(env('llm-gateway.usage', 'code-r1', usage(0.1, 100, 20)));
    // Two calls the gateway folded into one event.
    push(env('llm-gateway.usage', 'code-r1', { ...usage(0.05, 50, 10), calls: 2 }));
    push(env('llm-gateway.usage', 'plan', usage(0.2)));
    push(env('llm-gateway.usage', 'plan', usage(9), 'FR-2-r1'));
    push(env('agent-runner.coded', 'code-r1', { summary: 'added farewell' }));
    const costs = feed.stepCosts('FR-1-r1');
    expect(costs.get('code-r1')).toEqual({ costUsd: expect.closeTo(0.15, 9), calls: 3, inputTokens: 150, outputTokens: 30 });
    expect(costs.get('plan')?.costUsd).toBe(0.2);
    expect(feed.stepCosts('FR-9-r1').size).toBe(0);
    expect(feed.eventsOf('FR-1-r1').map((e) => e.type)).toEqual(['llm-gateway.usage', 'llm-gateway.usage', 'llm-gateway.usage', 'agent-runner.coded']);
    expect(feed.latest(2).map((e) => e.summary)).toEqual(['added farewell', 'scripted/coder: 10 in / 5 out tokens, $9.0000']);
    expect(feed.eventsOf('FR-1-r1')[1]!.summary).toBe('scripted/coder (2 calls): 50 in / 10 out tokens, $0.0500');
  });

  it('ignores a sequence it has seen (the stream re-followed after an error)', () => {
    stream.sink!.event({ seq: 5, subject: 's', envelope: env('llm-gateway.usage', 'plan', usage(1)) });
    stream.sink!.event({ seq: 5, subject: 's', envelope: env('llm-gateway.usage', 'plan', usage(1)) });
    stream.sink!.event({ seq: 3, subject: 's', envelope: env('llm-gateway.usage', 'plan', usage(1)) });
    expect(feed.stepCosts('FR-1-r1').get('plan')?.calls).toBe(1);
  });

  it('tells listeners about live events only, after the replay caught up, until they unsubscribe', async () => {
    const seen: DashboardEvent[] = [];
    const off = feed.subscribe((e) => seen.push(e));
    push(env('router.scored', 'route', { score: 12, tier: 'small' }));
    expect(seen).toEqual([]);
    expect(feed.caughtUp).toBe(false);
    stream.sink!.caughtUp();
    expect(feed.caughtUp).toBe(true);
    push(env('orchestrator.fr-state-changed', 'plan', { from: 'queued', to: 'planning' }));
    off();
    push(env('orchestrator.fr-state-changed', 'code-r1', { from: 'planning', to: 'coding' }));
    expect(seen.map((e) => e.summary)).toEqual(['queued -> planning']);
    await feed.onApplicationShutdown();
    expect(stream.stopped).toBe(true);
  });
});

describe('summarize', () => {
  it('describes the events the page lists', () => {
    expect(summarize(env('router.scored', 'route', { score: 12, tier: 'small' }))).toBe('score 12, tier small');
    expect(summarize(env('reviewer.reviewed', 'review-r1', { verdict: 'approve', confidence: 0.9 }))).toBe('approve (confidence 0.9)');
    expect(summarize(env('agent-runner.tested', 'test-r1', { passed: false }))).toBe('tests failed');
    expect(summarize(env('orchestrator.fr-state-changed', 'x', { from: 'a', to: 'failed', reason: 'boom' }))).toBe('a -> failed: boom');
    expect(summarize(env('git-service.pr-opened', 'open-pr', { url: 'local://o/n/pulls/1' }))).toBe('local://o/n/pulls/1');
    expect(summarize(env('x.y', 's', { nested: { a: 1 } }))).toBe('');
  });
});
