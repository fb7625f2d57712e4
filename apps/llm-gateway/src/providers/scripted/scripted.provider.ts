import { basename } from 'node:path';
import { ProviderError, type LlmChatRequest, type LlmChatResponse, type LlmProvider, type LlmStreamEvent, type LlmToolCall } from '../llm-provider.js';
import { CHARS_PER_TOKEN, estimateInputTokens, estimateOutputTokens } from '../token-estimate.js';
import { ScriptError, type LlmScript } from './llm-script.js';
import { PromptCache } from './prompt-cache.js';
import type { ScriptFileRepository } from './script-file.repository.js';
import { lastUserText, PlaceholderError, renderReply, ScriptMatcher, type ScriptCall } from './script-matcher.js';

/** Streamed answers come in pieces of this many characters, like a vendor's token deltas. */
const STREAM_CHUNK_CHARS = 32;

/**
 * A real provider that answers from a script file instead of a vendor: deterministic and offline,
 * so whole FR runs can be replayed in tests and in the quick start. Token usage is estimated from
 * text length (token-estimate.ts), cached input tokens by a simulation of OpenAI's automatic
 * prompt caching (prompt-cache.ts). Reply counters restart when the script file changes.
 */
export class ScriptedProvider implements LlmProvider {
  readonly type = 'scripted';
  private current?: { script: LlmScript; matcher: ScriptMatcher };
  private toolCallSeq = 0;

  constructor(
    readonly name: string,
    private readonly scriptFile: string,
    private readonly scripts: Pick<ScriptFileRepository, 'load'>,
    private readonly promptCache: Pick<PromptCache, 'read'>,
  ) {}

  /** Loads and checks the script now, so a broken one stops the gateway at boot. */
  validate(): void {
    this.matcher();
  }

  async chat(request: LlmChatRequest, signal?: AbortSignal): Promise<LlmChatResponse> {
    if (signal?.aborted) throw new ProviderError('the call was cancelled', 499, 'cancelled', false);
    const call: ScriptCall = { model: request.alias, ...request.context, lastUserText: lastUserText(request.messages) };
    const answer = this.matcher().answer(call);
    if (!answer) {
      throw new ProviderError(
        `scripted provider "${this.name}": no rule in ${basename(this.scriptFile)} matches model "${call.model}"${call.frId ? ` for ${call.frId}` : ' (no x-agency-fr-id header)'}; add a rule with match.model "${call.model}"`,
        422,
        'script_no_match',
        false,
      );
    }
    let reply;
    try {
      reply = renderReply(answer, call);
    } catch (e) {
      if (e instanceof PlaceholderError)
        throw new ProviderError(`scripted provider "${this.name}": ${basename(this.scriptFile)} ${e.message}`, 422, 'script_placeholder', false);
      throw e;
    }
    // Only a prompt that was answered is cached, as with a vendor.
    const cachedInputTokens = this.promptCache.read(request);
    const toolCalls: LlmToolCall[] = reply.toolCalls.map((c) => ({ id: `call_${(this.toolCallSeq += 1)}`, name: c.name, arguments: c.arguments }));
    let content = reply.content;
    let finishReason: LlmChatResponse['finishReason'] = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    // Honour max_tokens as a vendor would: cut the text and say so.
    if (request.maxTokens !== undefined && content !== null && estimateOutputTokens(content, toolCalls) > request.maxTokens) {
      content = content.slice(0, request.maxTokens * CHARS_PER_TOKEN);
      finishReason = 'length';
    }
    return {
      model: request.model,
      content,
      toolCalls,
      finishReason,
      usage: { inputTokens: estimateInputTokens(request.messages), cachedInputTokens, outputTokens: estimateOutputTokens(content, toolCalls) },
    };
  }

  async *stream(request: LlmChatRequest, signal?: AbortSignal): AsyncIterable<LlmStreamEvent> {
    const response = await this.chat(request, signal);
    const text = response.content ?? '';
    for (let i = 0; i < text.length; i += STREAM_CHUNK_CHARS) yield { kind: 'text', text: text.slice(i, i + STREAM_CHUNK_CHARS) };
    for (const [index, call] of response.toolCalls.entries()) {
      yield { kind: 'tool-call-start', index, id: call.id, name: call.name };
      yield { kind: 'tool-call-args', index, arguments: call.arguments };
    }
    yield { kind: 'end', response };
  }

  private matcher(): ScriptMatcher {
    let script: LlmScript;
    try {
      script = this.scripts.load(this.scriptFile);
    } catch (e) {
      if (e instanceof ScriptError) throw new ProviderError(`scripted provider "${this.name}": ${e.message}`, 500, 'script_invalid', false);
      throw e;
    }
    if (this.current?.script !== script) this.current = { script, matcher: new ScriptMatcher(script) };
    return this.current.matcher;
  }
}
