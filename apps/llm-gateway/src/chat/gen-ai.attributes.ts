import type { Attributes } from '@agency/telemetry';
import type { LlmCallContext, LlmChatBody, LlmChatResponse } from '../providers/llm-provider.js';

/**
 * Span attributes after the OpenTelemetry GenAI semantic conventions. `gen_ai.system` is the
 * older name of `gen_ai.provider.name`; both are set so either generation of tools reads them.
 * Prompts and answers are never recorded (they may hold code and secrets of the repositories).
 */
export function requestAttributes(
  operation: 'chat' | 'embeddings',
  alias: string,
  body: LlmChatBody,
  provider: { name: string; type: string },
  context: LlmCallContext,
): Attributes {
  const a: Attributes = {
    'gen_ai.operation.name': operation,
    'gen_ai.request.model': alias,
    'gen_ai.provider.name': provider.type,
    'gen_ai.system': provider.type,
    'gen_ai.output.type': body.responseFormat && body.responseFormat.type !== 'text' ? 'json' : 'text',
    'agency.llm.provider': provider.name,
  };
  if (body.maxTokens !== undefined) a['gen_ai.request.max_tokens'] = body.maxTokens;
  if (body.temperature !== undefined) a['gen_ai.request.temperature'] = body.temperature;
  if (body.topP !== undefined) a['gen_ai.request.top_p'] = body.topP;
  if (context.frId) a['agency.fr_id'] = context.frId;
  if (context.jobId) a['agency.job_id'] = context.jobId;
  if (context.sagaId) a['agency.saga_id'] = context.sagaId;
  if (context.step) a['agency.step'] = context.step;
  return a;
}

export function responseAttributes(responseModel: string, response: LlmChatResponse): Attributes {
  return {
    'gen_ai.response.model': responseModel,
    'gen_ai.response.finish_reasons': [response.finishReason],
    'gen_ai.usage.input_tokens': response.usage.inputTokens,
    'gen_ai.usage.output_tokens': response.usage.outputTokens,
    // Both are part of gen_ai.usage.input_tokens, as the conventions ask.
    'gen_ai.usage.cache_read.input_tokens': response.usage.cachedInputTokens,
    'gen_ai.usage.cache_creation.input_tokens': response.usage.cacheWriteInputTokens ?? 0,
  };
}
