import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Metrics } from '@agency/bootstrap';
import type { LlmUsage } from '../providers/llm-provider.js';

export interface CallRecord {
  /** The alias asked for; "unknown" when it is not configured (never the raw name: unbounded labels). */
  alias: string;
  /** `provider/model` that answered, or "none". */
  model: string;
  /** Id of the gateway key (configured ids only), or "none". */
  key: string;
  /** HTTP status the call ended with. */
  status: number;
  seconds: number;
  usage?: LlmUsage;
  costUsd?: number;
}

/** Running totals of one (alias, model, key): plain numbers, so counting a call allocates nothing. */
interface Totals {
  labels: { alias: string; model: string; key: string };
  byStatus: Map<number, number>;
  input: number;
  cached: number;
  written: number;
  output: number;
  cost: number;
  latency: { observe(v: number): void };
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The gateway's Prometheus series, served at /metrics with the process's others. Counters are
 * kept as plain totals and handed to prom-client when /metrics is scraped (its own increments
 * allocate and hash labels on every call, which showed in the hot path's profile).
 */
@Injectable()
export class GatewayMetrics {
  private readonly totals = new Map<string, Totals>();
  private readonly attemptTotals = new Map<string, { labels: { model: string; outcome: string; next: string }; n: number }>();
  private readonly attemptIndex = new Map<string, Map<string, Map<string, { labels: { model: string; outcome: string; next: string }; n: number }>>>();
  private readonly totalsIndex = new Map<string, Map<string, Map<string, Totals>>>();
  private publishFailureCount = 0;
  private readonly latency: Histogram<'alias' | 'model'>;
  private breakerStates: () => Array<{ model: string; open: boolean }> = () => [];

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    const totals = this.totals;
    const attempts = this.attemptTotals;
    const self = () => this.publishFailureCount;
    // Each collect() rebuilds the exported values from the totals; they only ever grow, as counters must.
    new Counter({
      name: 'llm_gateway_requests_total',
      help: 'Chat calls by model alias, provider/model, HTTP status and gateway key',
      labelNames: ['alias', 'model', 'status', 'key'],
      registers,
      collect() {
        this.reset();
        for (const t of totals.values())
          for (const [status, n] of t.byStatus) this.inc({ alias: t.labels.alias, model: t.labels.model, status: String(status), key: t.labels.key }, n);
      },
    });
    new Counter({
      name: 'llm_gateway_tokens_total',
      help: 'Tokens by kind: input (includes cached_input and cache_write), cached_input (read from the prompt cache), cache_write (written to it), output',
      labelNames: ['alias', 'model', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const t of totals.values()) {
          const labels = { alias: t.labels.alias, model: t.labels.model };
          if (t.input) this.inc({ ...labels, kind: 'input' }, t.input);
          if (t.cached || t.input) this.inc({ ...labels, kind: 'cached_input' }, t.cached);
          if (t.written || t.input) this.inc({ ...labels, kind: 'cache_write' }, t.written);
          if (t.output) this.inc({ ...labels, kind: 'output' }, t.output);
        }
      },
    });
    new Counter({
      name: 'llm_gateway_cost_usd_total',
      help: 'Cost of chat calls in USD, from the price table',
      labelNames: ['alias', 'model', 'key'],
      registers,
      collect() {
        this.reset();
        for (const t of totals.values()) if (t.cost) this.inc(t.labels, Math.round(t.cost * 1e9) / 1e9);
      },
    });
    new Counter({
      name: 'llm_gateway_attempts_total',
      help: 'Provider attempts by provider/model, outcome ("ok" or an error code) and what followed (done, retry, fallback, stop)',
      labelNames: ['model', 'outcome', 'next'],
      registers,
      collect() {
        this.reset();
        for (const a of attempts.values()) this.inc(a.labels, a.n);
      },
    });
    new Counter({
      name: 'llm_gateway_usage_publish_failures_total',
      help: 'Usage event publishes that failed (each is tried again until stored) and events dropped from a full outbox',
      registers,
      collect() {
        this.reset();
        this.inc(self());
      },
    });
    const breakers = () => this.breakerStates();
    new Gauge({
      name: 'llm_gateway_circuit_open',
      help: '1 while calls skip a provider/model because it just timed out or failed hard (circuit breaker open), else 0',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const b of breakers()) this.set({ model: b.model }, b.open ? 1 : 0);
      },
    });
    this.latency = metrics.histogram('llm_gateway_request_duration_seconds', 'Chat call latency', ['alias', 'model'], LATENCY_BUCKETS);
  }

  recordCall(r: CallRecord): void {
    const t = this.totalsOf(r.alias, r.model, r.key);
    t.byStatus.set(r.status, (t.byStatus.get(r.status) ?? 0) + 1);
    t.latency.observe(r.seconds);
    if (r.usage) {
      t.input += r.usage.inputTokens;
      t.cached += r.usage.cachedInputTokens;
      t.written += r.usage.cacheWriteInputTokens ?? 0;
      t.output += r.usage.outputTokens;
    }
    if (r.costUsd) t.cost += r.costUsd;
  }

  recordAttempt(model: string, outcome: string, next: string): void {
    // Nested maps: no key string to build on every call.
    let byOutcome = this.attemptIndex.get(model);
    if (!byOutcome) this.attemptIndex.set(model, (byOutcome = new Map()));
    let byNext = byOutcome.get(outcome);
    if (!byNext) byOutcome.set(outcome, (byNext = new Map()));
    const a = byNext.get(next);
    if (a) a.n += 1;
    else {
      const entry = { labels: { model, outcome, next }, n: 1 };
      byNext.set(next, entry);
      this.attemptTotals.set(`${model}\u0000${outcome}\u0000${next}`, entry);
    }
  }

  /** Where the circuit breakers' states are read from when /metrics is scraped. */
  watchBreakers(states: () => Array<{ model: string; open: boolean }>): void {
    this.breakerStates = states;
  }

  recordPublishFailure(): void {
    this.publishFailureCount += 1;
  }

  private totalsOf(alias: string, model: string, key: string): Totals {
    let byModel = this.totalsIndex.get(alias);
    if (!byModel) this.totalsIndex.set(alias, (byModel = new Map()));
    let byKey = byModel.get(model);
    if (!byKey) byModel.set(model, (byKey = new Map()));
    let t = byKey.get(key);
    if (!t) {
      t = {
        labels: { alias, model, key },
        byStatus: new Map(),
        input: 0,
        cached: 0,
        written: 0,
        output: 0,
        cost: 0,
        latency: this.latency.labels({ alias, model }),
      };
      byKey.set(key, t);
      this.totals.set(`${alias}\u0000${model}\u0000${key}`, t);
    }
    return t;
  }
}
