import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import { extractTraceContext, runWithMessageContext, SpanKind, withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import { costUsd } from '../pricing/cost.js';
import { ProviderError, type LlmCallContext, type LlmChatBody, type LlmChatRequest, type LlmChatResponse, type LlmStreamEvent } from '../providers/llm-provider.js';
import { ProviderRegistry, type ResolvedTarget } from '../providers/provider.registry.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { requestAttributes, responseAttributes } from './gen-ai.attributes.js';
import { UsagePublisher } from './usage.publisher.js';

export interface ChatCall {
  alias: string;
  body: LlmChatBody;
  context: LlmCallContext;
  /** Id of the gateway key the caller used. */
  apiKeyId?: string;
  /** Reads the caller's W3C trace headers (traceparent, tracestate). */
  traceHeader: (name: string) => string | undefined;
  /** Aborted when the caller goes away. */
  signal?: AbortSignal;
}

export interface CompletionMeta {
  /** `chatcmpl-...`, the same for every chunk of a stream. */
  id: string;
  /** Unix seconds. */
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
  open(meta: CompletionMeta): void;
  piece(event: Exclude<LlmStreamEvent, { kind: 'end' }>): void;
}

/** The caller asked for an alias agency.yaml does not define. */
export class UnknownModelError extends Error {
  constructor(
    readonly alias: string,
    readonly known: string[],
  ) {
    super(`The model \`${alias}\` does not exist; the gateway serves the aliases ${known.map((k) => `\`${k}\``).join(', ') || '(none)'}.`);
    this.name = 'UnknownModelError';
  }
}

type Invoke = (target: ResolvedTarget, request: LlmChatRequest, meta: CompletionMeta) => Promise<LlmChatResponse>;

function statusOf(error: unknown): number {
  return error instanceof ProviderError ? error.status : 500;
}

/**
 * One model call: resolves the alias, calls the provider inside a GenAI span (child of the
 * caller's traceparent), prices the usage, counts it in metrics and publishes the usage event.
 */
@Injectable()
export class ChatService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly usage: UsagePublisher,
    private readonly metrics: GatewayMetrics,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  aliases(): string[] {
    return this.registry.aliases();
  }

  complete(call: ChatCall): Promise<ChatOutcome> {
    return this.run(call, (target, request) => target.provider.chat(request, call.signal));
  }

  /** Streams the answer's pieces into `sink`; resolves with the whole answer once it is complete. */
  stream(call: ChatCall, sink: ChatStreamSink): Promise<ChatOutcome> {
    return this.run(call, async (target, request, meta) => {
      const pieces = target.provider.stream(request, call.signal)[Symbol.asyncIterator]();
      // Wait for the first piece before opening: an early failure still gets a proper HTTP error.
      let next = await pieces.next();
      sink.open(meta);
      let response: LlmChatResponse | undefined;
      for (; !next.done; next = await pieces.next()) {
        if (next.value.kind === 'end') response = next.value.response;
        else sink.piece(next.value);
      }
      if (!response) throw new ProviderError(`provider "${target.provider.name}" ended its stream without a final answer`, 502, 'incomplete_stream', true);
      return response;
    });
  }

  private async run(call: ChatCall, invoke: Invoke): Promise<ChatOutcome> {
    const started = this.clock.nowMs();
    const targets = this.registry.targets(call.alias);
    if (!targets) {
      this.metrics.recordCall({ alias: 'unknown', model: 'none', status: 404, seconds: 0 });
      throw new UnknownModelError(call.alias, this.registry.aliases());
    }
    // The alias's list is ordered for fallbacks (a later task walks it); the first target answers.
    const target = targets[0]!;
    const meta: CompletionMeta = { id: `chatcmpl-${this.clock.uuid().replaceAll('-', '')}`, created: Math.floor(started / 1000), ref: target.ref };
    const request: LlmChatRequest = { ...call.body, alias: call.alias, model: target.model, context: call.context };
    const attributes = { ...requestAttributes(call.alias, call.body, target.provider, call.context), 'gen_ai.response.id': meta.id };
    const parent = extractTraceContext(call.traceHeader);

    return runWithMessageContext(call.context, () =>
      withSpan(`chat ${call.alias}`, { kind: SpanKind.SERVER, parent, attributes }, async (span) => {
        let response: LlmChatResponse;
        try {
          response = await withSpan(`chat ${target.ref}`, { kind: SpanKind.CLIENT, attributes: { ...attributes, 'gen_ai.request.model': target.model } }, async (attempt) => {
            const r = await invoke(target, request, meta);
            attempt.setAttributes(responseAttributes(r.model, r));
            return r;
          });
        } catch (error) {
          span.setAttribute('error.type', error instanceof ProviderError ? error.code : (error as Error).name);
          await this.finish(call, target, started, statusOf(error), undefined, 0, error as Error);
          throw error;
        }
        const cost = costUsd(response.usage, target.price);
        span.setAttributes({ ...responseAttributes(target.ref, response), 'agency.llm.cost_usd': cost });
        await this.finish(call, target, started, 200, response, cost);
        return { ...meta, alias: call.alias, response, costUsd: cost };
      }),
    );
  }

  /** Metrics, one log line (never the prompt or the answer) and the usage event. */
  private async finish(call: ChatCall, target: ResolvedTarget, started: number, status: number, response?: LlmChatResponse, cost = 0, error?: Error): Promise<void> {
    const latencyMs = Math.max(0, Math.round(this.clock.nowMs() - started));
    const usage = response?.usage ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
    this.metrics.recordCall({ alias: call.alias, model: target.ref, status, seconds: latencyMs / 1000, usage, costUsd: cost });
    const line = { alias: call.alias, model: target.ref, status, latencyMs, ...usage, costUsd: cost, apiKeyId: call.apiKeyId };
    if (status === 200) this.logger.info(line, 'llm call');
    else this.logger.warn({ ...line, error: error?.message }, 'llm call failed');
    const frId = call.context.frId;
    if (!frId) return;
    try {
      await this.usage.publish(
        { ...call.context, frId },
        {
          alias: call.alias,
          provider: target.provider.name,
          model: target.model,
          ...usage,
          costUsd: cost,
          latencyMs,
          status: status === 200 ? 'ok' : 'error',
          ...(call.apiKeyId ? { apiKeyId: call.apiKeyId } : {}),
        },
      );
    } catch (publishError) {
      // The answer is already paid for: failing the call now would only make the caller pay twice.
      this.metrics.recordPublishFailure();
      this.logger.error({ err: publishError, alias: call.alias, costUsd: cost }, 'usage event could not be published; this call is missing from the FR cost');
    }
  }
}
