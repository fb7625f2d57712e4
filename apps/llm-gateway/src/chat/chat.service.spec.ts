import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Metrics } from '@agency/bootstrap';
import type { LlmUsageEvent } from '@agency/contracts';
import type { Clock } from '@agency/messaging';
import { createLogger, initTelemetry, type Telemetry } from '@agency/telemetry';
import type { BudgetLedger } from '../budget/budget-ledger.js';
import { BudgetService } from '../budget/budget.service.js';
import { DEFAULT_ROUTING } from '../config/routing-settings.js';
import type { LlmSettings } from '../config/llm-settings.js';
import type { Random } from '../common/random.js';
import {
  ProviderError,
  type LlmCallContext,
  type LlmChatRequest,
  type LlmChatResponse,
  type LlmProvider,
  type LlmStreamEvent,
} from '../providers/llm-provider.js';
import type { ProviderRegistry, ResolvedTarget } from '../providers/provider.registry.js';
import type { LlmGatewayConfig } from '../llm-gateway.config.js';
import { CallRouter } from '../routing/call-router.js';
import { CircuitBreaker } from '../routing/circuit-breaker.js';
import { ProviderLimiter } from '../routing/provider-limiter.js';
import { BudgetExceededError, ModelNotAllowedError } from './chat-errors.js';
import { ChatService, UnknownModelError, type ChatCall, type CompletionMeta } from './chat.service.js';
import { GatewayMetrics } from './gateway.metrics.js';
import type { UsagePublisher } from './usage.publisher.js';

const SECRET_PROMPT = 'the repository password is hunter2';
const ANSWER = 'an answer nobody should log';

/** Answers with ANSWER, or fails / breaks mid-stream as told. */
class FakeProvider implements LlmProvider {
  readonly name = 'scripted';
  readonly type = 'scripted';
  failure?: Error;
  failOnce?: Error;
  breakMidStream = false;
  seen: LlmChatRequest[] = [];

  async chat(request: LlmChatRequest): Promise<LlmChatResponse> {
    this.seen.push(request);
    if (this.failure) throw this.failure;
    const once = this.failOnce;
    this.failOnce = undefined;
    if (once) throw once;
    return {
      model: request.model,
      content: ANSWER,
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 1000, cachedInputTokens: 400, cacheWriteInputTokens: 100, outputTokens: 200 },
    };
  }

  async *stream(request: LlmChatRequest): AsyncIterable<LlmStreamEvent> {
    const response = await this.chat(request);
    yield { kind: 'start', id: 'vendor-id-1', usage: { inputTokens: 1000, cachedInputTokens: 400, cacheWriteInputTokens: 100, outputTokens: 0 } };
    yield { kind: 'text', text: 'an answer ' };
    if (this.breakMidStream) throw new ProviderError('connection reset by vendor', 502, 'upstream_reset', true);
    yield { kind: 'text', text: 'nobody should log' };
    yield { kind: 'end', response };
  }
}

class FakeRegistry {
  budgets: LlmSettings['budgets'] = {};
  retries = 0;
  constructor(private readonly provider: LlmProvider) {}
  aliases(): string[] {
    return ['planner', 'coder'];
  }
  targets(alias: string): ResolvedTarget[] | undefined {
    if (alias !== 'planner' && alias !== 'coder') return undefined;
    return [
      {
        ref: 'scripted/planner-v1',
        provider: this.provider,
        model: 'planner-v1',
        price: { inputPerMtok: 3, outputPerMtok: 15, cachedInputPerMtok: 0.3, cacheWritePerMtok: 3.75 },
        limiter: new ProviderLimiter({}, () => 0),
        breaker: new CircuitBreaker(),
      },
    ];
  }
  breakerStates(): Array<{ model: string; open: boolean }> {
    return [{ model: 'scripted/planner-v1', open: false }];
  }
  settings(): Pick<LlmSettings, 'routing' | 'budgets'> {
    return { routing: { ...DEFAULT_ROUTING, retries: this.retries }, budgets: this.budgets };
  }
}

/** Spend per budget key, in memory. */
class FakeLedger {
  spentUsd = new Map<string, number>();
  async spent(key: string): Promise<number> {
    return this.spentUsd.get(key) ?? 0;
  }
  charge(key: string, usd: number): void {
    this.spentUsd.set(key, (this.spentUsd.get(key) ?? 0) + usd);
  }
}

class FakeUsage {
  published: { context: LlmCallContext & { frId: string }; payload: LlmUsageEvent }[] = [];
  publish(context: LlmCallContext & { frId: string }, payload: LlmUsageEvent): void {
    this.published.push({ context, payload });
  }
}

class FakeClock {
  private ms = 1_700_000_000_000;
  private ids = 0;
  nowMs(): number {
    return (this.ms += 250);
  }
  now(): Date {
    return new Date(Date.UTC(2026, 10, 24));
  }
  async sleep(): Promise<void> {}
  uuid(): string {
    this.ids += 1;
    return `00000000-0000-4000-8000-${String(this.ids).padStart(12, '0')}`;
  }
}

describe('ChatService', () => {
  let telemetry: Telemetry;
  const spans = new InMemorySpanExporter();
  let provider: FakeProvider;
  let usage: FakeUsage;
  let metrics: Metrics;
  let logs: string[];
  let service: ChatService;
  let registry: FakeRegistry;
  let ledger: FakeLedger;

  beforeAll(() => {
    telemetry = initTelemetry({ serviceName: 'llm-gateway', env: {}, exporters: [spans] });
  });
  afterAll(() => telemetry.shutdown());

  beforeEach(() => {
    provider = new FakeProvider();
    usage = new FakeUsage();
    metrics = new Metrics('llm-gateway');
    logs = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (logs.push(String(chunk)), cb()) });
    const clock = new FakeClock() as unknown as Clock;
    registry = new FakeRegistry(provider);
    ledger = new FakeLedger();
    service = new ChatService(
      registry as unknown as ProviderRegistry,
      new CallRouter(clock, { next: () => 0.5 } as Random),
      new BudgetService(ledger as unknown as BudgetLedger, clock),
      usage as unknown as UsagePublisher,
      new GatewayMetrics(metrics),
      clock,
      createLogger({ service: 'llm-gateway', level: 'debug', destination: sink }),
    );
  });

  const call = (overrides: Partial<ChatCall> = {}): ChatCall => ({
    alias: 'planner',
    body: { messages: [{ role: 'user', content: SECRET_PROMPT }], maxTokens: 500 },
    context: { frId: 'FR-54', jobId: 'job-9', sagaId: 'saga-3', step: 'plan' },
    caller: { id: 'agents', budgetPeriod: 'total' },
    traceHeader: () => undefined,
    ...overrides,
  });

  it('calls the alias first target and prices the answer', async () => {
    const outcome = await service.complete(call());
    expect(outcome).toMatchObject({ localId: '00000000000040008000000000000001', created: 1_700_000_000, alias: 'planner', ref: 'scripted/planner-v1' });
    // 500 plain input at $3, 400 read from the cache at $0.3, 100 written to it at $3.75, 200 output at $15 per million.
    expect(outcome.costUsd).toBe(0.004995);
    expect(provider.seen[0]).toMatchObject({ alias: 'planner', model: 'planner-v1', maxTokens: 500, context: { frId: 'FR-54' } });
  });

  it('publishes the usage event with the call context', async () => {
    await service.complete(call());
    await new Promise((r) => setImmediate(r));
    expect(usage.published).toEqual([
      {
        context: { frId: 'FR-54', jobId: 'job-9', sagaId: 'saga-3', step: 'plan' },
        payload: {
          alias: 'planner',
          provider: 'scripted',
          model: 'planner-v1',
          inputTokens: 1000,
          cachedInputTokens: 400,
          cacheWriteTokens: 100,
          outputTokens: 200,
          costUsd: 0.004995,
          latencyMs: 500,
          status: 'ok',
          apiKeyId: 'agents',
        },
      },
    ]);
  });

  it('publishes nothing for a call without an FR', async () => {
    await service.complete(call({ context: {} }));
    expect(usage.published).toEqual([]);
  });

  it('reports a failed call as error usage and passes the error on', async () => {
    provider.failure = new ProviderError('no rule matches', 422, 'script_no_match', false);
    await expect(service.complete(call())).rejects.toBe(provider.failure);
    await new Promise((r) => setImmediate(r));
    expect(usage.published.map((p) => [p.payload.status, p.payload.costUsd, p.payload.outputTokens])).toEqual([['error', 0, 0]]);
    expect(await metrics.registry.getSingleMetricAsString('llm_gateway_requests_total')).toContain(
      'llm_gateway_requests_total{alias="planner",model="scripted/planner-v1",status="422",key="agents",service="llm-gateway"} 1',
    );
    // The warn line names the provider's code, what an operator greps for (cassette_no_match...).
    expect(logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'llm call failed')).toMatchObject({
      code: 'script_no_match',
      error: 'no rule matches',
      status: 422,
    });
  });

  it('refuses an unknown alias, naming the known ones', async () => {
    const error = await service.complete(call({ alias: 'gpt-5' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownModelError);
    expect((error as Error).message).toBe('The model `gpt-5` does not exist; the gateway serves the aliases `planner`, `coder`.');
    expect(await metrics.registry.getSingleMetricAsString('llm_gateway_requests_total')).toContain('alias="unknown",model="none",status="404"');
  });

  it('counts tokens and cost, and logs one line without the prompt or the answer', async () => {
    await service.complete(call());
    const tokens = await metrics.registry.getSingleMetricAsString('llm_gateway_tokens_total');
    expect(tokens).toContain('kind="input",service="llm-gateway"} 1000');
    expect(tokens).toContain('kind="cached_input",service="llm-gateway"} 400');
    expect(tokens).toContain('kind="cache_write",service="llm-gateway"} 100');
    expect(tokens).toContain('kind="output",service="llm-gateway"} 200');
    expect(await metrics.registry.getSingleMetricAsString('llm_gateway_cost_usd_total')).toContain('} 0.004995');
    expect(logs).toHaveLength(1);
    expect(JSON.parse(logs[0]!)).toMatchObject({ msg: 'llm call', alias: 'planner', model: 'scripted/planner-v1', status: 200, frId: 'FR-54', jobId: 'job-9' });
    expect(logs.join('')).not.toContain('hunter2');
    expect(logs.join('')).not.toContain(ANSWER);
  });

  it('streams pieces after opening once, and resolves with the whole answer', async () => {
    const order: string[] = [];
    const outcome = await service.stream(call(), {
      open: (meta: CompletionMeta, start) => order.push(`open ${meta.ref} ${meta.upstreamId} ${start.usage?.inputTokens}`),
      piece: (e) => order.push(e.kind === 'text' ? e.text : e.kind),
    });
    expect(order).toEqual(['open scripted/planner-v1 vendor-id-1 1000', 'an answer ', 'nobody should log']);
    expect(outcome.response.content).toBe(ANSWER);
    expect(outcome.upstreamId).toBe('vendor-id-1');
    await new Promise((r) => setImmediate(r));
    expect(usage.published).toHaveLength(1);
  });

  it('fails a stream before opening when the provider fails at once, and after opening when it breaks', async () => {
    provider.failure = new ProviderError('no rule', 422, 'script_no_match', false);
    const opened: string[] = [];
    const sink = { open: () => opened.push('open'), piece: () => undefined };
    await expect(service.stream(call(), sink)).rejects.toMatchObject({ status: 422 });
    expect(opened).toEqual([]);

    provider.failure = undefined;
    provider.breakMidStream = true;
    await expect(service.stream(call(), sink)).rejects.toMatchObject({ code: 'upstream_reset' });
    expect(opened).toEqual(['open']);
    await new Promise((r) => setImmediate(r));
    expect(usage.published.map((p) => p.payload.status)).toEqual(['error', 'error']);
  });

  it('records a GenAI span as a child of the caller traceparent', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentSpan = 'b7ad6b7169203331';
    await telemetry.flush();
    spans.reset();
    await service.complete(call({ traceHeader: (n) => (n === 'traceparent' ? `00-${traceId}-${parentSpan}-01` : undefined) }));
    await telemetry.flush();
    const server = spans.getFinishedSpans().find((s) => s.name === 'chat planner');
    expect(server?.spanContext().traceId).toBe(traceId);
    expect(server?.parentSpanContext?.spanId).toBe(parentSpan);
    expect(server?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'planner',
      'gen_ai.response.model': 'scripted/planner-v1',
      'gen_ai.system': 'scripted',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
      'gen_ai.usage.cache_read.input_tokens': 400,
      'gen_ai.usage.cache_creation.input_tokens': 100,
      'gen_ai.request.max_tokens': 500,
      'agency.llm.cost_usd': 0.004995,
      'agency.fr_id': 'FR-54',
    });
    // Answered at the first try: the call's span says it all.
    expect(spans.getFinishedSpans().filter((s) => s.name === 'chat scripted/planner-v1')).toEqual([]);
    expect(JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes))).not.toContain('hunter2');
  });

  it('records one CLIENT span per attempt when a call needed a retry', async () => {
    registry.retries = 1;
    provider.failOnce = new ProviderError('vendor overloaded', 502, 'upstream_overloaded', true);
    await telemetry.flush();
    spans.reset();
    await service.complete(call());
    await telemetry.flush();
    const server = spans.getFinishedSpans().find((s) => s.name === 'chat planner');
    const attempts = spans.getFinishedSpans().filter((s) => s.name === 'chat scripted/planner-v1');
    expect(attempts.map((a) => [a.attributes['agency.llm.attempt'], a.attributes['error.type'] ?? a.attributes['gen_ai.response.model']])).toEqual([
      [1, 'upstream_overloaded'],
      [2, 'planner-v1'],
    ]);
    for (const a of attempts) expect(a.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(server?.attributes['agency.llm.attempts']).toBe(2);
  });

  it('refuses a model the caller key may not use, with 403 and no provider call', async () => {
    const error = await service.complete(call({ caller: { id: 'tools', budgetPeriod: 'total', models: new Set(['coder']) } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotAllowedError);
    expect((error as Error).message).toBe('The API key "tools" may not use the model `planner`; it may use `coder`.');
    expect(provider.seen).toEqual([]);
    expect(service.aliases({ id: 'tools', budgetPeriod: 'total', models: new Set(['coder']) })).toEqual(['coder']);
  });

  it('charges the FR and the key, and refuses once a budget is used up, naming it', async () => {
    registry.budgets = { perFrUsd: 0.005 };
    const budgeted = call({ caller: { id: 'tools', budgetPeriod: 'month', budgetUsd: 1 } });
    await service.complete(budgeted);
    expect(ledger.spentUsd.get('fr.FR-54')).toBe(0.004995);
    expect(ledger.spentUsd.get('key.tools.2026-11')).toBe(0.004995);
    // Still under $0.005: one more call runs and crosses the limit.
    await service.complete(budgeted);
    const error = await service.complete(budgeted).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect((error as Error).message).toBe(
      'Budget exceeded: the budget of FR-54 is used up ($0.00999 spent of $0.005, from llm.budgets.per_fr_usd). No more model calls are made for it until the budget is raised.',
    );
    expect(provider.seen).toHaveLength(2);
    // The header the orchestrator sends wins over the default.
    await expect(service.complete({ ...budgeted, frBudgetUsd: 2 })).resolves.toBeDefined();
    ledger.spentUsd.set('key.tools.2026-11', 1);
    await expect(service.complete({ ...budgeted, frBudgetUsd: 2 })).rejects.toThrow(
      'the budget of API key "tools" is used up ($1.00 spent of $1.00, from llm.keys.tools.budget_usd (per month))',
    );
  });

  it('logs prompts and answers only when LLM_LOG_PROMPTS is on', async () => {
    const sink = new Writable({ write: (chunk, _enc, cb) => (logs.push(String(chunk)), cb()) });
    const clock = new FakeClock() as unknown as Clock;
    const verbose = new ChatService(
      registry as unknown as ProviderRegistry,
      new CallRouter(clock, { next: () => 0.5 } as Random),
      new BudgetService(ledger as unknown as BudgetLedger, clock),
      usage as unknown as UsagePublisher,
      new GatewayMetrics(new Metrics('llm-gateway')),
      clock,
      createLogger({ service: 'llm-gateway', level: 'info', destination: sink }),
      { LLM_LOG_PROMPTS: 'true' } as LlmGatewayConfig,
    );
    await verbose.complete(call());
    expect(JSON.parse(logs.at(-1)!)).toMatchObject({
      level: 'info',
      msg: 'llm call',
      prompt: [{ role: 'user', content: SECRET_PROMPT }],
      answer: { content: ANSWER },
    });
  });
});
