import { expectEventually, startFakeLlm, type FakeLlm } from '@agency/testing';
import { LlmAnswerError, LlmCancelledError, LlmClient, LlmTimeoutError } from '../src/index.js';

const KEY = 'agk_llm_client_test';
const messages = [{ role: 'user' as const, content: 'hello' }];

/** The real client (official openai SDK, streaming) against a local server speaking OpenAI's wire format. */
describe('LlmClient against an OpenAI-wire server', () => {
  let fake: FakeLlm;

  beforeEach(async () => {
    fake = await startFakeLlm(KEY);
  });
  afterEach(async () => {
    await fake.close();
  });

  const client = (options: { firstByteTimeoutMs?: number; idleTimeoutMs?: number; maxRetries?: number } = {}) =>
    new LlmClient({ baseUrl: fake.url, apiKey: KEY, maxRetries: 0, ...options });

  it('streams every call and assembles text, tool calls and usage with cached tokens', async () => {
    fake.respond = (call) =>
      call.tools.length > 0
        ? {
            content: 'Reading first.',
            toolCalls: [{ name: 'read_file', arguments: { path: 'src/a.js' } }],
            usage: { prompt_tokens: 1000, completion_tokens: 20, cached_tokens: 800 },
          }
        : 'plain answer';
    const text = await client().chat({ model: 'coder', messages }, { frId: 'FR-1' });
    expect(text).toMatchObject({ content: 'plain answer', model: 'fake/coder', inputTokens: 100, outputTokens: 50 });
    const turn = await client().chatTools({ model: 'coder', messages, tools: [{ name: 'read_file', description: 'read', parameters: { type: 'object' } }] });
    expect(turn).toMatchObject({ content: 'Reading first.', finishReason: 'tool_calls', inputTokens: 1000, cachedInputTokens: 800 });
    expect(turn.toolCalls).toEqual([{ id: 'call_2_0', name: 'read_file', arguments: '{"path":"src/a.js"}' }]);
    expect(fake.calls.map((c) => c.body.stream)).toEqual([true, true]);
    expect(fake.calls[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(fake.calls[0]!.headers['x-agency-fr-id']).toBe('FR-1');
  });

  it('never cuts a long answer that keeps coming, though it lasts longer than the first-byte limit', async () => {
    const long = 'x'.repeat(400);
    // 25 chunks 100 ms apart: about 2.5 s in all, against a first-byte limit of 1 s and an idle limit of 4 s.
    fake.respond = () => ({ content: long, chunkChars: 16, chunkDelayMs: 100 });
    const result = await client({ firstByteTimeoutMs: 1000, idleTimeoutMs: 4000 }).chat({ model: 'coder', messages });
    expect(result.content).toBe(long);
  });

  it('gives a hung call up at the first-byte limit, retrying once, and the server sees both abandoned', async () => {
    fake.respond = () => ({ hang: true });
    const call = client({ firstByteTimeoutMs: 300, maxRetries: 1 }).chat({ model: 'coder', messages });
    await expect(call).rejects.toBeInstanceOf(LlmTimeoutError);
    await expect(call).rejects.toThrow(/given up after 2 tries: no answer began within 300 ms/);
    await expectEventually(() => expect(fake.calls.map((c) => c.abandoned)).toEqual([true, true]));
  });

  it('tries again when an answer stalls mid-stream, and takes the second answer', async () => {
    fake.respond = () => (fake.calls.length === 1 ? { content: 'a long answer that stops', chunkChars: 4, stallAfterChunks: 3 } : 'complete answer');
    const result = await client({ idleTimeoutMs: 300, maxRetries: 1 }).chat({ model: 'coder', messages });
    expect(result.content).toBe('complete answer');
    expect(fake.calls[0]!.abandoned).toBe(true);
  });

  it('aborts an in-flight call at once when the caller cancels, without retrying it', async () => {
    fake.respond = () => ({ hang: true });
    const controller = new AbortController();
    const call = client({ firstByteTimeoutMs: 60_000, maxRetries: 2 }).chat({ model: 'coder', messages }, { signal: controller.signal });
    await expectEventually(() => expect(fake.calls).toHaveLength(1));
    controller.abort(new Error('job FR-1 cancelled by ada'));
    await expect(call).rejects.toBeInstanceOf(LlmCancelledError);
    await expect(call).rejects.toThrow(/cancelled: job FR-1 cancelled by ada/);
    await expectEventually(() => expect(fake.calls[0]!.abandoned).toBe(true));
    expect(fake.calls).toHaveLength(1);
  });

  describe('chatJson', () => {
    const parse = (v: unknown) => {
      const o = v as { summary?: unknown };
      if (typeof o.summary !== 'string') throw new Error('summary: must be a string');
      return o as { summary: string };
    };

    it('reads JSON wrapped in prose and a fence, and mends a trailing comma, without a repair turn', async () => {
      fake.respond = () => 'Here it is:\n```json\n{"summary": "done",}\n```\nAnything else?';
      const r = await client().chatJson({ model: 'planner', messages }, parse);
      expect(r).toMatchObject({ value: { summary: 'done' }, repairs: 0, repaired: false });
      expect(r.fixes).toEqual(['took the JSON out of a fenced block', 'repaired malformed JSON (e.g. trailing commas, quotes, comments or a cut end)']);
      expect(fake.calls).toHaveLength(1);
      expect(fake.calls[0]!.json).toBe(true);
    });

    it('shows the model the precise problem in a repair turn, and takes the corrected answer', async () => {
      fake.respond = () => (fake.calls.length === 1 ? '{"title": "wrong field"}' : '{"summary": "fixed"}');
      const r = await client().chatJson({ model: 'planner', messages }, parse);
      expect(r).toMatchObject({ value: { summary: 'fixed' }, repairs: 1, repaired: true, problems: ['summary: must be a string'] });
      const repair = fake.calls[1]!.messages;
      expect(repair.at(-2)).toMatchObject({ role: 'assistant', content: '{"title": "wrong field"}' });
      expect(repair.at(-1)!.content).toBe(
        'Your answer could not be used: summary: must be a string. Answer again with only the corrected JSON object, nothing before or after it.',
      );
    });

    it('repeats the expected shape in a repair turn when the caller gives it (a model that lost the format sees it again)', async () => {
      fake.respond = () => (fake.calls.length === 1 ? 'Here is my plan: add the function.' : '{"summary": "fixed"}');
      await client().chatJson({ model: 'planner', messages }, parse, undefined, { shape: '{"summary": "..."}' });
      expect(fake.calls[1]!.messages.at(-1)!.content).toMatch(
        /^Your answer could not be used: .*Answer again with only the corrected JSON object, shaped like \{"summary": "\.\.\."\}, nothing before or after it\.$/,
      );
    });

    it('gives up after the configured repair turns, naming every problem', async () => {
      fake.respond = () => 'I am not sure what you want.';
      const call = client().chatJson({ model: 'planner', messages }, parse, undefined, { repairTurns: 3 });
      await expect(call).rejects.toBeInstanceOf(LlmAnswerError);
      await expect(call).rejects.toThrow(
        /gave no usable JSON after 3 repair turn\(s\): first answer: not valid JSON .*; repair 1: .*; repair 2: .*; repair 3: /,
      );
      expect(fake.calls).toHaveLength(4);
    });
  });
});
