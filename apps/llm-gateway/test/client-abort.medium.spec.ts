import OpenAI from 'openai';
import { expectEventually } from '@agency/testing';
import { startGateway, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Upstream } from './upstreams/upstream-server.js';

function llm(held: string, backup: string): string {
  return `llm:
  providers:
    held: { type: openai, base_url: "${held}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY }
    plain: { type: openai, base_url: "${held}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY, stream_upstream: false }
    backup: { type: anthropic, base_url: "${backup}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY }
  models:
    main: [held/gpt-4.1, backup/claude-x]
    plainmain: [plain/gpt-4.1, backup/claude-x]
  prices:
    held/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    plain/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    backup/claude-x: { input_per_mtok: 3, output_per_mtok: 15 }
  routing: { retries: 2, backoff_initial_ms: 10, backoff_max_ms: 50 }
`;
}

/**
 * Issue 11 item 6: a client that leaves (an agent whose FR was cancelled) ends the vendor call it
 * was waiting for (http/chat-call.ts aborts it): the vendor sees its request closed, and the
 * gateway neither retries it nor falls back to another target, which would bill on.
 */
describe('a client that leaves while the vendor is still answering', () => {
  let held: Upstream;
  let backup: Upstream;
  let gw: Gateway;
  let openai: OpenAI;

  beforeAll(async () => {
    held = await startOpenAiUpstream(() => ({ kind: 'hang' }));
    backup = await startAnthropicUpstream(() => ({ kind: 'answer', content: 'the backup answered' }));
    gw = await startGateway(llm(held.url, backup.url));
    openai = gw.openai();
  });

  afterAll(async () => {
    await gw?.close();
    await held?.close();
    await backup?.close();
  });

  it.each([
    ['streamed to the client and from the vendor', 'main', true, 'FR-901'],
    ['answered whole, not streamed from the vendor', 'plainmain', false, 'FR-902'],
  ])('%s: the vendor request is closed, with no retry and no fallback', async (_name, model, stream, frId) => {
    held.requests.length = 0;
    const controller = new AbortController();
    const call = openai.chat.completions
      .create(
        { model, messages: [{ role: 'user', content: 'Write a long essay.' }], stream },
        { signal: controller.signal, headers: { 'x-agency-fr-id': frId } },
      )
      .then(async (answer) => {
        if (Symbol.asyncIterator in answer) for await (const _ of answer) void _;
      });
    const settled = call.then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await expectEventually(() => expect(held.requests).toHaveLength(1), { message: 'the vendor holding the request' });
    expect(held.requests[0]!.closedEarly).toBeUndefined();

    controller.abort();
    expect(await settled).toMatch(/abort/i);
    await expectEventually(() => expect(held.requests[0]!.closedEarly).toBe(true), { timeoutMs: 10_000, message: 'the vendor request closed by the gateway' });
    // The usage event is written once the call's walk over its targets has ended: nothing came after.
    const usage = await expectEventually(
      async () => {
        const events = await gw.usageEvents(frId);
        expect(events).toHaveLength(1);
        return events[0]!.payload;
      },
      { timeoutMs: 10_000, message: 'the usage event of the cancelled call' },
    );
    expect(usage).toMatchObject({ alias: model, status: 'error', costUsd: 0, outputTokens: 0 });
    expect(held.requests).toHaveLength(1);
    expect(backup.requests).toEqual([]);
  });
});
