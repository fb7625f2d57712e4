import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import { extractTraceContext, runWithMessageContext, SpanKind, SpanStatusCode, tracer, withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import type { CallerKey } from '../auth/key-ring.js';
import { BudgetService } from '../budget/budget.service.js';
import { costUsd } from '../pricing/cost.js';
import {
  ProviderError,
  type LlmCallContext,
  type LlmCallLimits,
  type LlmChatBody,
  type LlmChatRequest,
  type LlmChatResponse,
  type LlmStreamPiece,
  type LlmUsage,
} from '../providers/llm-provider.js';
import { ProviderRegistry, type ResolvedTarget } from '../providers/provider.registry.js';
import { estimateInputTokens } from '../providers/token-estimate.js';
import { DEADLINE_HEADER } from '../http/call-headers.js';
import { CallRouter, type CallDeadline } from '../routing/call-router.js';
import { BudgetExceededError, ModelNotAllowedError, UnknownModelError } from './chat-errors.js';
import { LlmGatewayConfig } from '../llm-gateway.config.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { requestAttributes, responseAttributes } from './gen-ai.attributes.js';
import { UsagePublisher } from './usage.publisher.js';

export { UnknownModelError } from './chat-errors.js';

export interface ChatCall {
  alias: string;
  body: LlmChatBody;
  context: LlmCallContext;
  /** The gateway key the caller used. */
  caller?: CallerKey;
  /** The FR's budget from the x-agency-fr-budget-usd header. */
  frBudgetUsd?: number;
  /** The call's deadline from the x-agency-deadline-ms header (else llm.routing.deadline_ms). */
  deadlineMs?: number;
  /** Reads the caller's W3C trace headers (traceparent, tracestate). */
  traceHeader: (name: string) => string | undefined;
  /** Aborted when the caller goes away. */
  signal?: AbortSignal;
  /** gen_ai.operation.name: a chat (the default) or an embeddings call. */
  operation?: 'chat' | 'embeddings';
}

/** What to embed: the texts (or token arrays), and the vector size some models can shorten to. */
export interface EmbedInput {
  input: string[] | number[][];
  dimensions?: number;
}

export interface EmbedOutcome extends ChatOutcome {
  vectors: number[][];
}

export interface CompletionMeta {
  /** The vendor's id of the answer, when it gave one: clients see it as the answer's id. */
  upstreamId?: string;
  /** The gateway's own id (32 hex digits), for answers the vendor gave no id. */
  localId: string;
  /** Unix seconds: the vendor's (its `created`, else the HTTP Date of its answer), else when the call started. */
  created: number;
  /** `provider/model` that answers; returned as the response's `model`. */
  ref: string;
}

export interface ChatOutcome extends CompletionMeta {
  alias: string;
  response: LlmChatResponse;
  costUsd: number;
}

export interface ChatStreamSink {
  /** Once, before the first piece: from here on a failure can no longer change the HTTP status. */
  open(meta: CompletionMeta, start: { usage?: LlmUsage }): void;
  piece(event: LlmStreamPiece): void;
}

type Invoke = (
  target: ResolvedTarget,
  request: LlmChatRequest,
  localId: string,
  started: number,
  limits: LlmCallLimits,
) => Promise<{ response: LlmChatResponse; meta: CompletionMeta }>;

const NO_USAGE: LlmUsage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };

function statusOf(error: unknown): number {
  if (error instanceof ProviderError) return error.status;
  if (error instanceof BudgetExceededError) return 429;
  if (error instanceof ModelNotAllowedError) return 403;
  const status = (error as { getStatus?: () => number }).getStatus?.();
  return typeof status === 'number' ? status : 500;
}

/**
 * One model call: resolves the alias, checks the caller's permissions and budgets, walks the
 * alias's targets (retries and fallbacks, CallRouter) inside a GenAI span that is a child of the
 * caller's traceparent, prices the usage, charges the budgets, counts it in metrics and
 * publishes the usage event. Bookkeeping after the answer never delays it.
 */
@Injectable()
export class ChatService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly router: CallRouter,
    private readonly budgets: BudgetService,
    private readonly usage: UsagePublisher,
    private readonly metrics: GatewayMetrics,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    config?: LlmGatewayConfig,
  ) {
    this.logPrompts = config?.LLM_LOG_PROMPTS === 'true';
    metrics.watchBreakers(() => registry.breakerStates());
  }

  private readonly logPrompts: boolean;

  /** The aliases the caller may use. */
  aliases(caller?: CallerKey): string[] {
    const all = this.registry.aliases();
    return caller?.models ? all.filter((a) => caller.models!.has(a)) : all;
  }

  complete(call: ChatCall): Promise<ChatOutcome> {
    return this.run(
      call,
      async (target, request, localId, started, limits) => {
        const response = await target.provider.chat(request, call.signal, limits);
        return {
          response,
          meta: { ...(response.id ? { upstreamId: response.id } : {}), localId, created: response.created ?? Math.floor(started / 1000), ref: target.ref },
        };
      },
      () => false,
    );
  }

  /**
   * Embeds the input with the alias's first target that has embeddings (one without them is passed
   * over like a target that cannot answer), with the routing, budgets and accounting of a chat.
   */
  async embed(call: ChatCall, what: EmbedInput): Promise<EmbedOutcome> {
    let vectors: number[][] = [];
    const outcome = await this.run(
      { ...call, operation: 'embeddings' },
      async (target, request, localId, started, limits) => {
        if (!target.provider.embed) {
          throw new ProviderError(
            `provider "${target.provider.name}" (${target.provider.type}) has no embeddings; point the alias at an openai or openai-compatible model`,
            400,
            'embeddings_not_supported',
            false,
            { disposition: 'fallback' },
          );
        }
        const answer = await target.provider.embed(
          {
            alias: request.alias,
            model: request.model,
            input: what.input,
            ...(what.dimensions !== undefined ? { dimensions: what.dimensions } : {}),
            context: request.context,
          },
          call.signal,
          limits,
        );
        vectors = answer.vectors;
        const response: LlmChatResponse = { model: answer.model, content: null, toolCalls: [], finishReason: 'stop', usage: answer.usage };
        return { response, meta: { localId, created: Math.floor(started / 1000), ref: target.ref } };
      },
      () => false,
    );
    return { ...outcome, vectors };
  }

  /** Streams the answer's pieces into `sink`; resolves with the whole answer once it is complete. */
  stream(call: ChatCall, sink: ChatStreamSink): Promise<ChatOutcome> {
    let opened = false;
    return this.run(
      call,
      async (target, request, localId, started, limits) => {
        const events = target.provider.stream(request, call.signal, limits)[Symbol.asyncIterator]();
        // Wait for the first piece before opening: until then a failure can still be retried,
        // fall back, or become a proper HTTP error.
        let start: { id?: string; created?: number; usage?: LlmUsage } = {};
        let next = await events.next();
        while (!next.done && next.value.kind === 'start') {
          start = { ...start, ...next.value };
          next = await events.next();
        }
        const meta: CompletionMeta = {
          ...(start.id ? { upstreamId: start.id } : {}),
          localId,
          created: start.created ?? Math.floor(started / 1000),
          ref: target.ref,
        };
        opened = true;
        sink.open(meta, start.usage ? { usage: start.usage } : {});
        let response: LlmChatResponse | undefined;
        for (; !next.done; next = await events.next()) {
          const event = next.value;
          if (event.kind === 'end') response = event.response;
          else if (event.kind !== 'start') sink.piece(event);
        }
        if (!response) throw new ProviderError(`provider "${target.provider.name}" ended its stream without a final answer`, 502, 'incomplete_stream', true);
        return { response, meta };
      },
      () => opened,
    );
  }

  private async run(call: ChatCall, invoke: Invoke, committed: () => boolean): Promise<ChatOutcome> {
    const started = this.clock.nowMs();
    const targets = this.registry.targets(call.alias);
    const keyId = call.caller?.id ?? 'none';
    if (!targets) {
      this.metrics.recordCall({ alias: 'unknown', model: 'none', key: keyId, status: 404, seconds: 0 });
      throw new UnknownModelError(call.alias, this.aliases(call.caller));
    }
    const settings = this.registry.settings();
    let charges: string[];
    try {
      if (call.caller?.models && !call.caller.models.has(call.alias)) throw new ModelNotAllowedError(call.caller.id, call.alias, [...call.caller.models]);
      const checked = this.budgets.check({ caller: call.caller, frId: call.context.frId, frBudgetUsd: call.frBudgetUsd }, settings.budgets);
      charges = Array.isArray(checked) ? checked : await checked;
    } catch (error) {
      this.metrics.recordCall({ alias: call.alias, model: 'none', key: keyId, status: statusOf(error), seconds: 0 });
      this.logger.warn({ alias: call.alias, apiKeyId: call.caller?.id, error: (error as Error).message }, 'llm call refused');
      throw error;
    }
    const localId = this.clock.uuid().replaceAll('-', '');
    const operation = call.operation ?? 'chat';
    const attributes = requestAttributes(operation, call.alias, call.body, targets[0]!.provider, call.context);
    attributes['gen_ai.response.id'] = localId;
    // Most calls without a traceparent start a trace here: no need to parse headers for them.
    const parent = call.traceHeader('traceparent') ? extractTraceContext(call.traceHeader) : undefined;
    let last = targets[0]!;
    let estimate: number | undefined;
    let attemptResponse: LlmChatResponse | undefined;

    const traced = () =>
      withSpan(`${operation} ${call.alias}`, { kind: SpanKind.SERVER, parent, attributes }, async (span) => {
        let routed;
        try {
          routed = await this.router.route<{ response: LlmChatResponse; meta: CompletionMeta }>({
            targets,
            routing: settings.routing,
            estimatedTokens: () => (estimate ??= estimateInputTokens(call.body.messages)),
            signal: call.signal,
            deadline: this.deadlineOf(call, started, settings.routing.deadlineMs),
            committed,
            tokensOf: (r) => r.response.usage.inputTokens + r.response.usage.outputTokens,
            onAttempt: (report) => {
              last = report.target;
              this.metrics.recordAttempt(report.target.ref, report.outcome, report.next);
              // A call answered at the first try is fully described by its own span; retries and
              // fallbacks get one CLIENT span per attempt, so a trace shows what went wrong where.
              if (report.attempt > 1 || report.next !== 'done')
                this.attemptSpan(report.target, report.attempt, report.outcome, report.startedMs, report.next === 'done' ? attemptResponse : undefined);
            },
            onSkip: (target) => this.metrics.recordAttempt(target.ref, 'circuit_open', 'fallback'),
            onTrip: (target, outcome) =>
              this.logger.warn(
                { model: target.ref, outcome, cooldownMs: settings.routing.breakerCooldownMs },
                'llm target tripped its circuit breaker: calls skip it until its cool-down ends, then one call tries it again',
              ),
            run: (target, _attempt, limits) =>
              invoke(target, { ...call.body, alias: call.alias, model: target.model, context: call.context }, localId, started, limits).then((result) => {
                attemptResponse = result.response;
                return result;
              }),
          });
        } catch (error) {
          span.setAttribute('error.type', error instanceof ProviderError ? error.code : (error as Error).name);
          this.finish(call, last, started, statusOf(error), undefined, 0, error as Error);
          throw error;
        }
        const { response, meta } = routed.value;
        const target = routed.target;
        const cost = costUsd(response.usage, target.price);
        span.setAttributes(responseAttributes(target.ref, response));
        span.setAttribute('agency.llm.cost_usd', cost);
        span.setAttribute('agency.llm.attempts', routed.attempts);
        // Set at the start from the first target; a fallback answered from another provider.
        if (target.provider !== targets[0]!.provider)
          span.setAttributes({
            'gen_ai.provider.name': target.provider.type,
            'gen_ai.system': target.provider.type,
            'agency.llm.provider': target.provider.name,
          });
        this.budgets.charge(charges, cost);
        this.finish(call, target, started, 200, response, cost);
        return { ...meta, alias: call.alias, response, costUsd: cost };
      });
    // Log lines inside carry the call's FR and job ids; a call without tags needs no context.
    const c = call.context;
    return c.frId || c.jobId || c.sagaId || c.step ? runWithMessageContext(c, traced) : traced();
  }

  private deadlineOf(call: ChatCall, started: number, settingMs: number): CallDeadline {
    const ms = call.deadlineMs ?? settingMs;
    return { at: started + ms, ms, source: call.deadlineMs !== undefined ? `the ${DEADLINE_HEADER} header` : 'llm.routing.deadline_ms' };
  }

  /** A finished attempt as a CLIENT span under the call's span, with its real start and end. */
  private attemptSpan(target: ResolvedTarget, attempt: number, outcome: string, startMs: number, response?: LlmChatResponse): void {
    const span = tracer().startSpan(`chat ${target.ref}`, {
      kind: SpanKind.CLIENT,
      startTime: startMs,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': target.model,
        'gen_ai.provider.name': target.provider.type,
        'gen_ai.system': target.provider.type,
        'agency.llm.provider': target.provider.name,
        'agency.llm.attempt': attempt,
      },
    });
    if (response) span.setAttributes(responseAttributes(response.model, response));
    else {
      span.setAttribute('error.type', outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    }
    span.end(this.clock.nowMs());
  }

  /** Metrics, one log line (never the prompt or the answer) and the usage event, which is sent in the background. */
  private finish(call: ChatCall, target: ResolvedTarget, started: number, status: number, response?: LlmChatResponse, cost = 0, error?: Error): void {
    const latencyMs = Math.max(0, Math.round(this.clock.nowMs() - started));
    const usage = response?.usage ?? NO_USAGE;
    const apiKeyId = call.caller?.id;
    this.metrics.recordCall({ alias: call.alias, model: target.ref, key: apiKeyId ?? 'none', status, seconds: latencyMs / 1000, usage, costUsd: cost });
    // One line per call costs a third of the gateway's CPU at full load (pino's redaction and a
    // synchronous write): successful calls are logged at debug (at info when prompts are logged
    // on purpose); metrics and usage events count every call anyway. A client that left (499) is no failure.
    const ok = status === 200 || status === 499;
    const level = ok ? (this.logPrompts ? 'info' : 'debug') : 'warn';
    if (this.logger.isLevelEnabled(level)) {
      const line: Record<string, unknown> = {
        alias: call.alias,
        model: target.ref,
        status,
        latencyMs,
        inputTokens: usage.inputTokens,
        cachedInputTokens: usage.cachedInputTokens,
        cacheWriteTokens: usage.cacheWriteInputTokens ?? 0,
        outputTokens: usage.outputTokens,
        costUsd: cost,
        apiKeyId,
      };
      if (this.logPrompts) {
        line.prompt = call.body.messages;
        if (response) line.answer = { content: response.content, toolCalls: response.toolCalls };
      }
      if (!ok) {
        line.error = error?.message;
        // The provider's code (cassette_no_match, timeout...) is what an operator greps for.
        if (error instanceof ProviderError) line.code = error.code;
      }
      this.logger[level](line, status === 200 ? 'llm call' : ok ? 'llm call cancelled by the client' : 'llm call failed');
    }
    const frId = call.context.frId;
    if (!frId) return;
    const payload = {
      alias: call.alias,
      provider: target.provider.name,
      model: target.model,
      inputTokens: usage.inputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      ...(usage.cacheWriteInputTokens ? { cacheWriteTokens: usage.cacheWriteInputTokens } : {}),
      outputTokens: usage.outputTokens,
      costUsd: cost,
      latencyMs,
      status: status === 200 ? ('ok' as const) : ('error' as const),
      ...(apiKeyId ? { apiKeyId } : {}),
    };
    // Only queued here: the outbox publishes it with others a moment later, retries
    // until the bus takes it, and keeps it across a shutdown (the trace context goes with it).
    this.usage.publish({ ...call.context, frId }, payload);
  }
}
