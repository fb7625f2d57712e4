import { Injectable } from '@nestjs/common';
import type { CallerKey } from '../auth/key-ring.js';
import { ProviderRegistry } from '../providers/provider.registry.js';
import type { LlmCallContext, LlmChatBody } from '../providers/llm-provider.js';
import { estimateInputTokens, textTokens } from '../providers/token-estimate.js';
import { ModelNotAllowedError, UnknownModelError } from './chat-errors.js';

export interface TokenCount {
  inputTokens: number;
  /** True when the vendor counted; false for the gateway's estimate. */
  counted: boolean;
}

/**
 * A prompt's input tokens for an alias (Anthropic's count_tokens): counted by the alias's first
 * target when its vendor counts tokens (Anthropic), else estimated as the scripted provider
 * does (about 4 characters a token, plus the tools' JSON). Nothing is billed.
 */
@Injectable()
export class TokenCountService {
  constructor(private readonly registry: ProviderRegistry) {}

  async count(alias: string, body: LlmChatBody, context: LlmCallContext, caller: CallerKey | undefined, signal?: AbortSignal): Promise<TokenCount> {
    const targets = this.registry.targets(alias);
    const allowed = (a: string) => !caller?.models || caller.models.has(a);
    if (!targets) throw new UnknownModelError(alias, this.registry.aliases().filter(allowed));
    if (!allowed(alias)) throw new ModelNotAllowedError(caller!.id, alias, [...caller!.models!]);
    const first = targets[0]!;
    if (first.provider.countTokens)
      return { inputTokens: await first.provider.countTokens({ ...body, alias, model: first.model, context }, signal), counted: true };
    const tools = body.tools?.length ? textTokens(JSON.stringify(body.tools)) : 0;
    return { inputTokens: estimateInputTokens(body.messages) + tools, counted: false };
  }
}
