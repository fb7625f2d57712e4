import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope, LlmUsageEvent } from '@agency/contracts';
import { Metrics } from '@agency/bootstrap';
import { Clock, type BusPublisher } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { InFlightCalls } from '../common/in-flight-calls.js';
import { SpoolFiles } from '../common/spool-file.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { USAGE_FOLD_ABOVE } from './usage-coalescing.js';
import { USAGE_SPOOL, UsagePublisher } from './usage.publisher.js';

/** JetStream in memory: stores each Nats-Msg-Id once; `down` refuses every publish. */
class FakeBus {
  stored = new Map<string, Envelope<LlmUsageEvent>>();
  attempts = 0;
  down = false;
  async publishBatch(_def: unknown, items: Array<{ envelope: Envelope<LlmUsageEvent>; msgId: string }>) {
    return Promise.allSettled(
      items.map(async ({ envelope, msgId }) => {
        this.attempts += 1;
        if (this.down) throw new Error('nats: timeout');
        if (!this.stored.has(msgId)) this.stored.set(msgId, envelope);
        return { envelope, streamSeq: this.stored.size, duplicate: false };
      }),
    );
  }
}

const payload = (costUsd: number): LlmUsageEvent => ({
  alias: 'coder',
  provider: 'scripted',
  model: 'm',
  inputTokens: 10,
  cachedInputTokens: 0,
  outputTokens: 5,
  costUsd,
  latencyMs: 3,
  status: 'ok',
});
const silent = createLogger({ service: 'llm-gateway', level: 'silent' });

describe('UsagePublisher', () => {
  let bus: FakeBus;
  let workDir: string;
  let metrics: GatewayMetrics;
  let registry: Metrics;
  const outboxOn = (b: FakeBus, shutdownFlushMs = 5_000, calls = new InFlightCalls(new Clock(), silent, { SHUTDOWN_FLUSH_MS: shutdownFlushMs })) =>
    new UsagePublisher(b as unknown as BusPublisher, new Clock(), metrics, silent, new SpoolFiles({ WORK_DIR: workDir }), calls);
  const costs = () => [...bus.stored.values()].map((e) => e.payload.costUsd).sort((a, b) => a - b);

  beforeEach(() => {
    bus = new FakeBus();
    registry = new Metrics('llm-gateway');
    metrics = new GatewayMetrics(registry);
    workDir = mkdtempSync(join(tmpdir(), 'usage-'));
  });
  afterEach(() => rmSync(workDir, { recursive: true, force: true }));

  it('queues without waiting and publishes after the tick, with the call context', async () => {
    const outbox = outboxOn(bus);
    outbox.publish({ frId: 'FR-1', step: 'code', jobId: 'job-1' }, payload(1));
    outbox.publish({ frId: 'FR-2' }, payload(2));
    expect(bus.attempts).toBe(0);
    expect(await outbox.flush()).toBe(true);
    const [first, second] = [...bus.stored.values()];
    expect(first).toMatchObject({ type: 'llm-gateway.usage', frId: 'FR-1', sagaId: 'FR-1', step: 'code', jobId: 'job-1', payload: { costUsd: 1 } });
    expect(second).toMatchObject({ frId: 'FR-2', step: 'llm', payload: { costUsd: 2 } });
    expect(second).not.toHaveProperty('jobId');
  });

  it('gives each call its event, and folds a busy step into one; other steps, models and outcomes keep theirs', async () => {
    const outbox = outboxOn(bus);
    outbox.publish({ frId: 'FR-1', sagaId: 's1', step: 'plan' }, payload(1));
    outbox.publish({ frId: 'FR-1', sagaId: 's1', step: 'plan' }, payload(2));
    for (let i = 0; i <= USAGE_FOLD_ABOVE; i += 1) outbox.publish({ frId: 'FR-1', sagaId: 's1', step: 'code' }, payload(3));
    outbox.publish({ frId: 'FR-1', sagaId: 's1', step: 'code' }, { ...payload(20), status: 'error' });
    expect(await outbox.flush()).toBe(true);
    const events = [...bus.stored.values()];
    expect(events.map((e) => [e.step, e.payload.status, e.payload.costUsd, e.payload.calls])).toEqual([
      ['plan', 'ok', 1, undefined],
      ['plan', 'ok', 2, undefined],
      ['code', 'ok', 3 * (USAGE_FOLD_ABOVE + 1), USAGE_FOLD_ABOVE + 1],
      ['code', 'error', 20, undefined],
    ]);
    expect(events[2]!.payload).toMatchObject({ inputTokens: 10 * (USAGE_FOLD_ABOVE + 1), latencyMs: 3 * (USAGE_FOLD_ABOVE + 1) });
  });

  it('publishes again until the bus takes the events, each once, never adding a call to an event already sent', async () => {
    const outbox = outboxOn(bus);
    bus.down = true;
    for (let i = 0; i <= USAGE_FOLD_ABOVE; i += 1) outbox.publish({ frId: 'FR-1' }, payload(1));
    await vi.waitFor(() => expect(bus.attempts).toBeGreaterThanOrEqual(2));
    // Calls of the same step after a failed send make a new event: the failed one may have been stored.
    for (let i = 0; i <= USAGE_FOLD_ABOVE; i += 1) outbox.publish({ frId: 'FR-1' }, payload(2));
    expect(await outbox.flush(20)).toBe(false);
    bus.down = false;
    expect(await outbox.flush()).toBe(true);
    expect(costs()).toEqual([(USAGE_FOLD_ABOVE + 1) * 1, (USAGE_FOLD_ABOVE + 1) * 2]);
    expect(await registry.registry.getSingleMetricAsString('llm_gateway_usage_publish_failures_total')).toMatch(/ ([2-9]|\d\d+)$/m);
  });

  it('at shutdown, waits for the calls in flight and publishes the events of those that end before it returns', async () => {
    const calls = new InFlightCalls(new Clock(), silent, { SHUTDOWN_FLUSH_MS: 60_000 });
    const outbox = outboxOn(bus, 60_000, calls);
    calls.admit();
    calls.onModuleDestroy();
    let returned = false;
    const stopping = outbox.beforeApplicationShutdown().then(() => (returned = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(returned).toBe(false);
    outbox.publish({ frId: 'FR-7' }, payload(0.25));
    calls.ended();
    await stopping;
    expect(costs()).toEqual([0.25]);
    expect(existsSync(join(workDir, USAGE_SPOOL))).toBe(false);
  });

  it('keeps what the bus did not take at shutdown in WORK_DIR, and the next start publishes it', async () => {
    const outbox = outboxOn(bus, 50);
    bus.down = true;
    outbox.publish({ frId: 'FR-1' }, payload(1));
    outbox.publish({ frId: 'FR-1' }, payload(2));
    await outbox.beforeApplicationShutdown();
    expect(existsSync(join(workDir, USAGE_SPOOL))).toBe(true);
    bus.down = false;
    const next = outboxOn(bus);
    await next.onModuleInit();
    expect(await next.flush()).toBe(true);
    expect(costs()).toEqual([1, 2]);
    expect(existsSync(join(workDir, USAGE_SPOOL))).toBe(false);
  });

  it('keeps the event of a call that outlasted the shutdown wait in WORK_DIR, with what the shutdown kept', async () => {
    const calls = new InFlightCalls(new Clock(), silent, { SHUTDOWN_FLUSH_MS: 40 });
    const outbox = outboxOn(bus, 40, calls);
    bus.down = true;
    outbox.publish({ frId: 'FR-1' }, payload(1));
    calls.admit();
    calls.onModuleDestroy();
    await outbox.beforeApplicationShutdown();
    // The flush is over (the bus did not take FR-1's event); the late call ends now.
    outbox.publish({ frId: 'FR-2' }, payload(2));
    calls.ended();
    await outbox.onApplicationShutdown();
    bus.down = false;
    const next = outboxOn(bus);
    await next.onModuleInit();
    expect(await next.flush()).toBe(true);
    expect(costs()).toEqual([1, 2]);
    expect(existsSync(join(workDir, USAGE_SPOOL))).toBe(false);
  });

  it('publishes the event of a late call while the bus is up, and leaves no spool once it is taken', async () => {
    const calls = new InFlightCalls(new Clock(), silent, { SHUTDOWN_FLUSH_MS: 40 });
    const outbox = outboxOn(bus, 40, calls);
    calls.admit();
    calls.onModuleDestroy();
    await outbox.beforeApplicationShutdown();
    outbox.publish({ frId: 'FR-3' }, payload(3));
    calls.ended();
    await vi.waitFor(() => expect(costs()).toEqual([3]));
    await vi.waitFor(() => expect(existsSync(join(workDir, USAGE_SPOOL))).toBe(false));
    await outbox.onApplicationShutdown();
    expect(existsSync(join(workDir, USAGE_SPOOL))).toBe(false);
  });
});
