import { Injectable } from '@nestjs/common';
import type { Counter, Histogram } from 'prom-client';
import { Metrics } from '@agency/bootstrap';
import type { LlmUsage } from '../providers/llm-provider.js';

export interface CallRecord {
  /** The alias asked for; "unknown" when it is not configured (never the raw name: unbounded labels). */
  alias: string;
  /** `provider/model` that answered, or "none". */
  model: string;
  /** HTTP status the call ended with. */
  status: number;
  seconds: number;
  usage?: LlmUsage;
  costUsd?: number;
}

/** The gateway's Prometheus series, served at /metrics with the process's others. */
@Injectable()
export class GatewayMetrics {
  private readonly requests: Counter<'alias' | 'model' | 'status'>;
  private readonly latency: Histogram<'alias' | 'model'>;
  private readonly tokens: Counter<'alias' | 'model' | 'kind'>;
  private readonly cost: Counter<'alias' | 'model'>;
  private readonly publishFailures: Counter;

  constructor(metrics: Metrics) {
    this.requests = metrics.counter('llm_gateway_requests_total', 'Chat calls by model alias, provider/model and HTTP status', ['alias', 'model', 'status']);
    this.latency = metrics.histogram('llm_gateway_request_duration_seconds', 'Chat call latency', ['alias', 'model'], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);
    this.tokens = metrics.counter('llm_gateway_tokens_total', 'Tokens by kind: input (includes cached_input), cached_input, output', ['alias', 'model', 'kind']);
    this.cost = metrics.counter('llm_gateway_cost_usd_total', 'Cost of chat calls in USD, from the price table', ['alias', 'model']);
    this.publishFailures = metrics.counter('llm_gateway_usage_publish_failures_total', 'Usage events that could not be published to the bus');
  }

  recordCall(r: CallRecord): void {
    const labels = { alias: r.alias, model: r.model };
    this.requests.inc({ ...labels, status: String(r.status) });
    this.latency.observe(labels, r.seconds);
    if (r.usage) {
      this.tokens.inc({ ...labels, kind: 'input' }, r.usage.inputTokens);
      this.tokens.inc({ ...labels, kind: 'cached_input' }, r.usage.cachedInputTokens);
      this.tokens.inc({ ...labels, kind: 'output' }, r.usage.outputTokens);
    }
    if (r.costUsd) this.cost.inc(labels, r.costUsd);
  }

  recordPublishFailure(): void {
    this.publishFailures.inc();
  }
}
