import { parse } from 'yaml';
import { ProviderError, type LlmChatRequest, type LlmStreamEvent } from '../llm-provider.js';
import { parseScript, ScriptError, type LlmScript } from './llm-script.js';
import { PromptCache } from './prompt-cache.js';
import { ScriptedProvider } from './scripted.provider.js';

const script = (text: string) => parseScript(parse(text), '/vault/40_config/llm-script.yaml');

const BASE = script(`version: 1
rules:
  - match: { model: planner }
    replies:
      - content: "0123456789abcdefghij0123456789abcdefghij"
      - content: "second for {{frId}}"
  - match: { model: coder }
    reply: { content: "with a tool", tool_calls: [{ name: read_file, arguments: { path: a.js } }] }
`);

/** Stands in for the file: returns whatever `current` holds, or throws what `failure` holds. */
class FakeScripts {
  current: LlmScript = BASE;
  failure?: Error;
  load(): LlmScript {
    if (this.failure) throw this.failure;
    return this.current;
  }
}

function request(overrides: Partial<LlmChatRequest> = {}): LlmChatRequest {
  return {
    alias: 'planner',
    model: 'planner-v1',
    messages: [
      { role: 'system', content: 'abcdefgh' },
      { role: 'user', content: 'hello' },
    ],
    context: { frId: 'FR-9' },
    ...overrides,
  };
}

describe('ScriptedProvider', () => {
  let scripts: FakeScripts;
  let provider: ScriptedProvider;

  beforeEach(() => {
    scripts = new FakeScripts();
    provider = new ScriptedProvider('scripted', '/vault/40_config/llm-script.yaml', scripts, new PromptCache(() => 0));
  });

  it('answers from the script with estimated usage', async () => {
    const r = await provider.chat(request());
    // input: 3 priming + (3 + ceil(8/4)) + (3 + ceil(5/4)) = 13; output: ceil(40/4) = 10.
    expect(r).toEqual({
      model: 'planner-v1',
      content: '0123456789abcdefghij0123456789abcdefghij',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 13, cachedInputTokens: 0, outputTokens: 10 },
    });
    expect((await provider.chat(request())).content).toBe('second for FR-9');
  });

  it("reports the prompt cache's hits as cached input tokens, and caches only answered prompts", async () => {
    const long = 'x'.repeat(8000);
    const ask = (user: string, alias = 'planner') =>
      request({
        alias,
        messages: [
          { role: 'system', content: long },
          { role: 'user', content: user },
        ],
      });
    // An unanswered call (no rule for the reviewer) is not remembered.
    await expect(provider.chat(ask('first', 'reviewer'))).rejects.toMatchObject({ code: 'script_no_match' });
    expect((await provider.chat(ask('first'))).usage).toMatchObject({ inputTokens: 2011, cachedInputTokens: 0 });
    // Shared: 3 + 2000 (system) + 3 (user's framing) = 2006 -> 1920 in 128-token steps.
    expect((await provider.chat(ask('again'))).usage).toMatchObject({ inputTokens: 2011, cachedInputTokens: 1920 });
  });

  it('returns tool calls with fresh ids and finish reason tool_calls', async () => {
    const r = await provider.chat(request({ alias: 'coder' }));
    expect(r.finishReason).toBe('tool_calls');
    expect(r.toolCalls).toEqual([{ id: 'call_1', name: 'read_file', arguments: '{"path":"a.js"}' }]);
    expect((await provider.chat(request({ alias: 'coder' }))).toolCalls[0]!.id).toBe('call_2');
    // "with a tool" (11 chars) + "read_file" (9) + '{"path":"a.js"}' (15): 3 + 3 + 4.
    expect(r.usage.outputTokens).toBe(10);
  });

  it('cuts the answer at max_tokens and says so', async () => {
    const r = await provider.chat(request({ maxTokens: 2 }));
    expect(r).toMatchObject({ content: '01234567', finishReason: 'length', usage: { outputTokens: 2 } });
  });

  it('fails an unmatched call with a clear, non-retryable 422', async () => {
    const error = await provider.chat(request({ alias: 'reviewer' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 422, code: 'script_no_match', retryable: false });
    expect((error as Error).message).toBe(
      'scripted provider "scripted": no rule in llm-script.yaml matches model "reviewer" for FR-9; add a rule with match.model "reviewer"',
    );
    await expect(provider.chat(request({ alias: 'reviewer', context: {} }))).rejects.toThrow('matches model "reviewer" (no x-agency-fr-id header)');
  });

  it('restarts reply counters when the script changes', async () => {
    await provider.chat(request());
    scripts.current = script('version: 1\nrules:\n  - match: { model: planner }\n    replies: [{ content: a }, { content: b }]\n');
    expect((await provider.chat(request())).content).toBe('a');
    expect((await provider.chat(request())).content).toBe('b');
  });

  it('reports a broken script as a 500 naming the file', async () => {
    scripts.failure = new ScriptError('/vault/40_config/llm-script.yaml', ['rules[0].match.model: is required']);
    await expect(provider.chat(request())).rejects.toMatchObject({
      status: 500,
      code: 'script_invalid',
      message: 'scripted provider "scripted": /vault/40_config/llm-script.yaml: rules[0].match.model: is required',
    });
    expect(() => provider.validate()).toThrow('rules[0].match.model: is required');
  });

  it('streams the answer in pieces and ends with the whole of it', async () => {
    const events: LlmStreamEvent[] = [];
    for await (const e of provider.stream(request())) events.push(e);
    expect(events.map((e) => e.kind)).toEqual(['text', 'text', 'end']);
    expect(
      events
        .filter((e) => e.kind === 'text')
        .map((e) => e.text)
        .join(''),
    ).toBe('0123456789abcdefghij0123456789abcdefghij');
    const end = events.at(-1)!;
    expect(end.kind === 'end' && end.response.usage.outputTokens).toBe(10);
  });

  it('refuses a call that was already cancelled', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(provider.chat(request(), abort.signal)).rejects.toMatchObject({ code: 'cancelled' });
  });
});
