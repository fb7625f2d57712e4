import type { LlmMessage } from '../llm-provider.js';
import { estimateInputTokens } from '../token-estimate.js';
import { PromptCache, sharedPrefixTokens } from './prompt-cache.js';

/** A text of exactly `tokens` estimated tokens (4 characters each). */
const text = (tokens: number, fill = 'a') => fill.repeat(tokens * 4);

function prompt(systemTokens: number, user: string): LlmMessage[] {
  return [
    { role: 'system', content: text(systemTokens) },
    { role: 'user', content: user },
  ];
}

describe('sharedPrefixTokens', () => {
  it('counts equal messages whole and the equal start of the first that differs', () => {
    const a = prompt(100, 'abcdefgh-one');
    const b = prompt(100, 'abcdefgh-two');
    // system: 3 + 100; user: 3 + floor(9 common characters / 4) = 5.
    expect(sharedPrefixTokens(a, b)).toBe(103 + 5);
    expect(sharedPrefixTokens(a, a)).toBe(estimateInputTokens(a) - 3);
    expect(sharedPrefixTokens(prompt(100, 'x'), [{ role: 'user', content: text(100) }])).toBe(0);
  });

  it('compares an assistant message with its tool calls, and a tool result with its call id', () => {
    const call = { id: 'c1', name: 'read_file', arguments: '{"path":"a.js"}' };
    const first: LlmMessage[] = [{ role: 'assistant', content: null, toolCalls: [call] }];
    expect(sharedPrefixTokens(first, [{ role: 'assistant', content: null, toolCalls: [{ ...call, arguments: '{"path":"b.js"}' }] }])).toBe(3);
    expect(sharedPrefixTokens([{ role: 'tool', toolCallId: 'c1', content: 'ok' }], [{ role: 'tool', toolCallId: 'c2', content: 'ok' }])).toBe(3 + 0);
  });
});

describe('PromptCache', () => {
  let now: number;
  let cache: PromptCache;
  beforeEach(() => {
    now = 0;
    cache = new PromptCache(() => now, { entries: 3, chars: 100_000, idleMs: 60_000 });
  });

  it('reads nothing the first time, then the shared start in 128-token steps', () => {
    expect(cache.read({ model: 'coder', messages: prompt(2000, 'first') })).toBe(0);
    // Shared: system 3 + 2000, user 3 + floor(0 / 4) -> 2006, in steps of 128: 1920.
    expect(cache.read({ model: 'coder', messages: prompt(2000, 'second') })).toBe(1920);
    // The whole earlier prompt and a tool round after it: all of the first prompt is shared.
    const longer: LlmMessage[] = [...prompt(2000, 'second'), { role: 'assistant', content: 'done' }];
    expect(cache.read({ model: 'coder', messages: longer })).toBe(Math.floor((2003 + 3 + 2) / 128) * 128);
  });

  it('needs at least 1024 shared tokens', () => {
    cache.read({ model: 'coder', messages: prompt(1017, 'a') });
    // 3 + 1017 + 3 = 1023 shared: below the minimum.
    expect(cache.read({ model: 'coder', messages: prompt(1017, 'b') })).toBe(0);
    cache.read({ model: 'coder', messages: prompt(1018, 'a') });
    expect(cache.read({ model: 'coder', messages: prompt(1018, 'b') })).toBe(1024);
  });

  it('shares nothing across models or tool lists', () => {
    cache.read({ model: 'coder', messages: prompt(2000, 'a') });
    expect(cache.read({ model: 'planner', messages: prompt(2000, 'b') })).toBe(0);
    expect(cache.read({ model: 'coder', tools: [{ name: 'read_file' }], messages: prompt(2000, 'c') })).toBe(0);
    expect(cache.read({ model: 'coder', tools: [{ name: 'read_file' }], messages: prompt(2000, 'd') })).toBe(1920);
  });

  it('forgets a prompt idle for longer than idleMs', () => {
    cache.read({ model: 'coder', messages: prompt(2000, 'a') });
    now = 60_001;
    expect(cache.read({ model: 'coder', messages: prompt(2000, 'b') })).toBe(0);
  });

  it('keeps at most `entries` prompts and `chars` characters, forgetting the least recently used', () => {
    cache.read({ model: 'coder', messages: prompt(2000, 'a') });
    for (const fill of ['b', 'c', 'd']) {
      now += 1;
      cache.read({ model: 'coder', messages: [{ role: 'system', content: text(2000, fill) }] });
    }
    expect(cache.size).toBe(3);
    expect(cache.read({ model: 'coder', messages: prompt(2000, 'x') })).toBe(0);
    const small = new PromptCache(() => 0, { entries: 10, chars: 10_000, idleMs: 60_000 });
    small.read({ model: 'coder', messages: prompt(1500, 'a') });
    small.read({ model: 'coder', messages: prompt(1500, 'b') });
    expect(small.size).toBe(1);
    // A prompt larger than the whole bound is not remembered at all.
    small.read({ model: 'coder', messages: prompt(3000, 'a') });
    expect(small.size).toBe(1);
  });
});
