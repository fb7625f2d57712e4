import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { freePort } from '@agency/testing';
import { startGateway, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Behaviour, Script, Upstream } from './upstreams/upstream-server.js';

const OK: Behaviour = { kind: 'answer', content: 'a whole answer from the vendor' };
const BACKUP_OK: Behaviour = { kind: 'answer', content: 'the backup answered' };
const LONG = 'a long answer that will not arrive whole';

function llm(flaky: string, backup: string, deadPort: number): string {
  return `llm:
  providers:
    flaky: { type: openai, base_url: "${flaky}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY, timeout_ms: 300 }
    stall: { type: openai, base_url: "${flaky}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY, timeout_ms: 300 }
    plain: { type: openai, base_url: "${flaky}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY, stream_upstream: false }
    backup: { type: anthropic, base_url: "${backup}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY, stream_upstream: true }
    dead: { type: openai-compatible, base_url: "http://127.0.0.1:${deadPort}/v1" }
  models:
    main: [flaky/gpt-4.1, backup/claude-x]
    deadfirst: [dead/llama, backup/claude-x]
    solo: [flaky/gpt-4.1]
    claude: [backup/claude-x]
    stalled: [stall/gpt-4.1, backup/claude-x]
    stallsolo: [stall/gpt-4.1]
    plainsolo: [plain/gpt-4.1]
  prices:
    flaky/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    backup/claude-x: { input_per_mtok: 3, output_per_mtok: 15 }
    dead/llama: { input_per_mtok: 0, output_per_mtok: 0 }
    stall/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    plain/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
  # Soft failures never trip a breaker here, so each test starts from closed breakers; the
  # timeout test has a provider of its own (stall), which it trips.
  routing: { retries: 1, backoff_initial_ms: 10, backoff_max_ms: 50, max_retry_wait_ms: 5000, breaker_failures: 100 }
`;
}

describe('upstream faults: retries, fallbacks and clear errors in the client format', () => {
  let flaky: Upstream;
  let backup: Upstream;
  let gw: Gateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    flaky = await startOpenAiUpstream(() => OK);
    backup = await startAnthropicUpstream(() => BACKUP_OK);
    gw = await startGateway(llm(flaky.url, backup.url, await freePort()));
    openai = gw.openai();
    anthropic = gw.anthropic();
  });

  afterAll(async () => {
    await gw?.close();
    await flaky?.close();
    await backup?.close();
  });

  const use = (script: Script, backupScript: Script = () => BACKUP_OK) => {
    flaky.script = script;
    backup.script = backupScript;
    flaky.requests.length = 0;
    backup.requests.length = 0;
  };
  const ask = (model: string) => openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] });
  const askAnthropic = (model: string) => anthropic.messages.create({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] });
  const failure = async (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('expected the call to fail'),
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
  const anthropicError = (e: unknown) => (e as InstanceType<typeof Anthropic.APIError>).error;
  /** Streams an OpenAI answer; `text` gets every piece that arrived before the end or the failure. */
  const streamOpenAi = async (model: string, text: { value: string }) => {
    for await (const chunk of await openai.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'x' }] }))
      text.value += chunk.choices[0]?.delta.content ?? '';
  };

  it('honours a 429 retry-after, then answers from the same target', async () => {
    use((_r, n) => (n === 0 ? { kind: 'status', status: 429, message: 'Rate limit reached for gpt-4.1', headers: { 'retry-after': '1' } } : OK));
    const answer = await ask('main');
    expect(answer.choices[0]!.message.content).toBe('a whole answer from the vendor');
    expect(answer.model).toBe('flaky/gpt-4.1');
    expect(flaky.requests).toHaveLength(2);
    // The vendor asked for one second; the gateway waited for it (a correctness bound, not a benchmark).
    expect(flaky.requests[1]!.at - flaky.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(backup.requests).toHaveLength(0);
  });

  it('answers a 429 that outlasts its retries with 429 and retry-after, in each client format', async () => {
    use(() => ({ kind: 'status', status: 429, message: 'Rate limit reached for gpt-4.1', headers: { 'retry-after-ms': '20' } }));
    const e = await failure(ask('solo'));
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.code).toBe('upstream_rate_limited');
    expect(e.message).toContain('all 2 attempts failed: flaky/gpt-4.1: provider "flaky" answered 429 (rate limited): Rate limit reached for gpt-4.1');
    expect(e.headers?.get('retry-after')).toBe('1');
    const a = await failure(askAnthropic('solo'));
    expect(a).toBeInstanceOf(Anthropic.RateLimitError);
    expect((a as unknown as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.stringContaining('answered 429') },
    });
  });

  it('falls back in order after retrying a 500', async () => {
    use(() => ({ kind: 'status', status: 500, message: 'The server had an error while processing your request.' }));
    const answer = await ask('main');
    expect(answer.model).toBe('backup/claude-x');
    expect(answer.choices[0]!.message.content).toBe('the backup answered');
    expect(flaky.requests).toHaveLength(2);
    expect(backup.requests).toHaveLength(1);
    expect(backup.requests[0]!.at).toBeGreaterThanOrEqual(flaky.requests[1]!.at);
  });

  it('falls back when the first target refuses connections', async () => {
    use(() => OK);
    const answer = await askAnthropic('deadfirst');
    expect(answer.model).toBe('backup/claude-x');
    expect(answer.content).toEqual([{ type: 'text', text: 'the backup answered', citations: null }]);
  });

  it('does not retry a target that timed out before its first byte: the fallback answers, and later calls skip it while it cools down', async () => {
    use(() => ({ kind: 'hang' }));
    const e = await failure(ask('stallsolo'));
    expect(e.status).toBe(504);
    expect(e.code).toBe('upstream_timeout');
    expect(e.message).toContain('sent no answer within 300 ms');
    expect(flaky.requests).toHaveLength(1);
    // Its breaker is open: the fallback answers at once, and the hung target sees no new request.
    const answer = await ask('stalled');
    expect(answer.model).toBe('backup/claude-x');
    expect(flaky.requests).toHaveLength(1);
    const open = await failure(ask('stallsolo'));
    expect(open.status).toBe(503);
    expect(open.code).toBe('circuit_open');
    expect(Number(open.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(flaky.requests).toHaveLength(1);
  });

  it('retries malformed JSON, then reports it as 502 in each client format', async () => {
    use(() => ({ kind: 'malformed' }));
    const e = await failure(ask('solo'));
    expect(e.status).toBe(502);
    expect(e.code).toBe('upstream_malformed');
    // A non-streaming call asks the vendor for a stream: its first chunk is what was malformed.
    expect(e.message).toMatch(/provider "flaky" sent a malformed answer: a stream chunk is not JSON/);
    expect(flaky.requests).toHaveLength(2);
    const plain = await failure(ask('plainsolo'));
    expect(plain.message).toMatch(/provider "plain" sent a malformed answer: the chat completion is not JSON/);
    const a = await failure(anthropic.messages.create({ model: 'solo', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(a.status).toBe(502);
    expect((a as unknown as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: 'api_error', message: expect.stringContaining('malformed answer') },
    });
    // A malformed first target still falls back.
    expect((await ask('main')).model).toBe('backup/claude-x');
  });

  it('turns a stream cut after the first piece into an error, never a clean short answer', async () => {
    use(() => ({ kind: 'cut', afterEvents: 4, content: 'a long answer that will not arrive whole' }));
    let text = '';
    const streamed = async () => {
      for await (const chunk of await openai.chat.completions.create({ model: 'main', stream: true, messages: [{ role: 'user', content: 'x' }] }))
        text += chunk.choices[0]?.delta.content ?? '';
    };
    const e = await failure(streamed());
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e.message).toMatch(/provider "flaky": .* closed the connection in the middle of its answer/);
    expect(text).toBe('a long answer t');
    // Committed to the client: no retry, no fallback.
    expect(flaky.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);

    use(() => ({ kind: 'truncate', afterEvents: 4, content: 'a long answer that will not arrive whole' }));
    const stream = anthropic.messages.stream({ model: 'solo', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] });
    const a = await failure(stream.finalMessage());
    expect((a as unknown as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringContaining('ended its stream early: no finish_reason arrived') },
    });
  });

  it('turns an OpenAI stream that ends early but cleanly (no finish_reason, no [DONE]) into an error for the OpenAI SDK', async () => {
    use(() => ({ kind: 'truncate', afterEvents: 4, content: LONG }));
    const text = { value: '' };
    const e = await failure(streamOpenAi('main', text));
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e.code).toBe('upstream_stream_truncated');
    expect(e.message).toContain('provider "flaky" ended its stream early: no finish_reason arrived');
    expect(text.value).toBe('a long answer t');
    // Committed to the client: no retry, no fallback.
    expect(flaky.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);

    // The same when the vendor is Anthropic (no message_stop), translated for the OpenAI client.
    use(
      () => OK,
      () => ({ kind: 'truncate', afterEvents: 5, content: LONG }),
    );
    const fromClaude = { value: '' };
    const c = await failure(streamOpenAi('claude', fromClaude));
    expect(c).toBeInstanceOf(OpenAI.APIError);
    expect(c.code).toBe('upstream_stream_truncated');
    expect(c.message).toContain('provider "backup" ended its stream early: message_stop never arrived');
    expect(fromClaude.value).toBe('a long ans');
    expect(backup.requests).toHaveLength(1);
  });

  it('turns an Anthropic stream whose connection resets mid-answer into an error event for the Anthropic SDK', async () => {
    // message_start, content_block_start, ping and two text deltas, then a reset.
    use(
      () => OK,
      () => ({ kind: 'cut', afterEvents: 5, content: LONG }),
    );
    let text = '';
    const stream = anthropic.messages.stream({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] }).on('text', (t) => (text += t));
    const a = await failure(stream.finalMessage());
    expect(a).toBeInstanceOf(Anthropic.APIError);
    expect(anthropicError(a)).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/provider "backup": .* closed the connection in the middle of its answer/) },
    });
    expect(text).toBe('a long ans');
    expect(backup.requests).toHaveLength(1);

    // The same when the vendor is OpenAI, translated for the Anthropic client.
    use(() => ({ kind: 'cut', afterEvents: 4, content: LONG }));
    text = '';
    const fromOpenAi = anthropic.messages.stream({ model: 'main', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] }).on('text', (t) => (text += t));
    const o = await failure(fromOpenAi.finalMessage());
    expect(anthropicError(o)).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/provider "flaky": .* closed the connection in the middle of its answer/) },
    });
    expect(text).toBe('a long answer t');
    expect(flaky.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
  });

  it('fails a non-streaming call whose streamed answer breaks off mid-way (reset, or ended early), after retrying, in each client format', async () => {
    const expected = {
      cut: ['upstream_connection_lost', /closed the connection in the middle of its answer/],
      truncate: ['upstream_stream_truncated', /ended its stream early/],
    } as const;
    for (const kind of ['cut', 'truncate'] as const) {
      // The vendor's first events arrived (nothing reached the client yet), then the answer broke off.
      use(() => ({ kind, afterEvents: 3, content: LONG }));
      const e = await failure(ask('solo'));
      expect(e, kind).toBeInstanceOf(OpenAI.InternalServerError);
      expect(e.status).toBe(502);
      expect(e.code).toBe(expected[kind][0]);
      expect(e.message).toMatch(/^502 all 2 attempts failed: .*provider "flaky"/);
      expect(e.message).toMatch(expected[kind][1]);
      expect(flaky.requests).toHaveLength(2);

      use(
        () => OK,
        () => ({ kind, afterEvents: 4, content: LONG }),
      );
      const a = await failure(askAnthropic('claude'));
      expect(a, kind).toBeInstanceOf(Anthropic.InternalServerError);
      expect(a.status).toBe(502);
      expect(anthropicError(a)).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringMatching(expected[kind][1]) } });
      expect(backup.requests).toHaveLength(2);
    }
    // Nothing reached the client yet: a cut answer falls back like any other failure.
    use(() => ({ kind: 'cut', afterEvents: 3, content: LONG }));
    const answer = await ask('main');
    expect(answer.model).toBe('backup/claude-x');
    expect(answer.choices[0]!.message.content).toBe('the backup answered');
  });

  it('fails a plain (stream_upstream: false) JSON answer cut mid-way (reset, or closed short of its length), after retrying', async () => {
    for (const kind of ['cut', 'truncate'] as const) {
      use(() => ({ kind, afterEvents: 0, content: LONG }));
      const e = await failure(ask('plainsolo'));
      expect(e, kind).toBeInstanceOf(OpenAI.InternalServerError);
      expect(e.code).toBe('upstream_connection_lost');
      expect(e.message).toMatch(/all 2 attempts failed: .*provider "plain": .* closed the connection in the middle of its answer/);
      expect(flaky.requests).toHaveLength(2);
      expect(flaky.requests[0]!.body.stream).toBeUndefined();
    }
  });

  it('falls back when a stream breaks before its first piece', async () => {
    use(() => ({ kind: 'cut', afterEvents: 1, content: 'never seen' }));
    const final = await anthropic.messages.stream({ model: 'main', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
    expect(final.model).toBe('backup/claude-x');
    expect(final.content).toEqual([{ type: 'text', text: 'the backup answered' }]);
    expect(flaky.requests).toHaveLength(2);
  });

  it('passes a request the vendor rejects on as 400 without falling back', async () => {
    use(() => ({ kind: 'status', status: 400, message: "This model's maximum context length is 8192 tokens." }));
    const e = await failure(ask('main'));
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.message).toContain('provider "flaky" answered 400: This model\'s maximum context length is 8192 tokens.');
    expect(backup.requests).toHaveLength(0);
  });
});
