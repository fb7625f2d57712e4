import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { expectEventually } from '@agency/testing';
import { startGateway, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Upstream } from './upstreams/upstream-server.js';

/** The first-byte timeout of the targets that hang. */
const TIMEOUT_MS = 1500;
const LONG = 'a long answer, generated slowly but steadily, that must arrive whole. ';

function llm(hung: string, slow: string, fast: string): string {
  const oa = (url: string, extra = '') => `{ type: openai, base_url: "${url}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY, timeout_ms: ${TIMEOUT_MS}${extra} }`;
  return `llm:
  providers:
    hung: ${oa(hung)}
    hung-a: ${oa(hung)}
    hung-b: ${oa(hung)}
    slow: { type: anthropic, base_url: "${slow}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY, timeout_ms: 1000, idle_timeout_ms: 1000 }
    fast: { type: anthropic, base_url: "${fast}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY }
  models:
    coder: [hung/gpt-4.1, fast/claude-x]
    chain: [hung-a/gpt-4.1, hung-b/gpt-4.1, fast/claude-x]
    writer: [slow/claude-x]
  prices:
    hung/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    hung-a/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    hung-b/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    slow/claude-x: { input_per_mtok: 3, output_per_mtok: 15 }
    fast/claude-x: { input_per_mtok: 3, output_per_mtok: 15 }
  routing: { retries: 2, backoff_initial_ms: 10, backoff_max_ms: 50 }
`;
}

describe('timeouts and failover: a hung vendor costs one first-byte timeout, a slow one is never cut', () => {
  let hung: Upstream;
  let slow: Upstream;
  let fast: Upstream;
  let gw: Gateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    hung = await startOpenAiUpstream(() => ({ kind: 'hang' }));
    slow = await startAnthropicUpstream(() => ({ kind: 'slow', everyMs: 100, content: LONG.repeat(2) }));
    fast = await startAnthropicUpstream(() => ({ kind: 'answer', content: 'the fallback answered' }));
    gw = await startGateway(llm(hung.url, slow.url, fast.url));
    openai = gw.openai();
    anthropic = gw.anthropic();
  });

  afterAll(async () => {
    await gw?.close();
    await hung?.close();
    await slow?.close();
    await fast?.close();
  });

  const timed = async <T>(p: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const start = performance.now();
    const value = await p();
    return { value, ms: performance.now() - start };
  };

  it('answers from the fallback within about one first-byte timeout, then skips the hung target while it cools down', async () => {
    const first = await timed(() => openai.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: 'hello' }] }));
    expect(first.value.model).toBe('fast/claude-x');
    expect(first.value.choices[0]!.message.content).toBe('the fallback answered');
    // One attempt on the hung target, not three (retries: 2): 1.5 s instead of at least 4.5 s.
    expect(hung.requests).toHaveLength(1);
    expect(first.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(first.ms).toBeLessThan(2.5 * TIMEOUT_MS);
    // Streamed, from the other SDK: the hung target is skipped (it sees no new request).
    const streamed = await anthropic.messages.stream({ model: 'coder', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }).finalMessage();
    expect(streamed.model).toBe('fast/claude-x');
    expect(hung.requests).toHaveLength(1);
    const metrics = await (await fetch(`${gw.origin}/metrics`)).text();
    expect(metrics).toContain('llm_gateway_circuit_open{model="hung/gpt-4.1",service="llm-gateway"} 1');
    expect(metrics).toContain('llm_gateway_circuit_open{model="fast/claude-x",service="llm-gateway"} 0');
    expect(metrics).toContain('llm_gateway_attempts_total{model="hung/gpt-4.1",outcome="circuit_open",next="fallback",service="llm-gateway"} 1');
  });

  it('tries the target again once its cool-down is over (one probe), and uses it when it answers', async () => {
    hung.script = () => ({ kind: 'answer', content: 'the first target is back' });
    const answer = await expectEventually(
      async () => {
        const a = await openai.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: 'hello' }] });
        expect(a.model).toBe('hung/gpt-4.1');
        return a;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(answer.choices[0]!.message.content).toBe('the first target is back');
    const next = await openai.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: 'again' }] });
    expect(next.model).toBe('hung/gpt-4.1');
    hung.script = () => ({ kind: 'hang' });
  });

  it.each([false, true])('never cuts an answer that keeps coming, past the first-byte timeout and the deadline (stream %s)', async (stream) => {
    const headers = { 'x-agency-deadline-ms': '1200' };
    const { value, ms } = await timed(async () => {
      if (stream)
        return anthropic.messages.stream({ model: 'writer', max_tokens: 500, messages: [{ role: 'user', content: 'write' }] }, { headers }).finalMessage();
      return anthropic.messages.create({ model: 'writer', max_tokens: 500, messages: [{ role: 'user', content: 'write' }] }, { headers });
    });
    expect(value.content).toEqual([expect.objectContaining({ type: 'text', text: LONG.repeat(2) })]);
    // Generated over more than the deadline and twice the first-byte timeout.
    expect(ms).toBeGreaterThan(2000);
    expect(slow.requests.at(-1)!.body.stream).toBe(true);
  });

  it('stops at the deadline: no fallback starts after it, and the error names each attempt', async () => {
    const before = fast.requests.length;
    const e = (await openai.chat.completions
      .create({ model: 'chain', messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-agency-deadline-ms': '2000' } })
      .catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(504);
    expect(e.code).toBe('deadline_exceeded');
    expect(e.message).toContain("no answer started within the call's deadline of 2000 ms (the x-agency-deadline-ms header)");
    expect(e.message).toContain('hung-a/gpt-4.1: provider "hung-a": http://127.0.0.1');
    expect(e.message).toContain('hung-b/gpt-4.1: provider "hung-b" had not started its answer when the call\'s deadline came');
    expect(fast.requests.length).toBe(before);
  });
});
