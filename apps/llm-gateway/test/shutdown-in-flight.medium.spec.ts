import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { KvStore } from '@agency/messaging';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import { SPEND_SPOOL } from '../src/budget/budget-ledger.js';
import { BUDGET_BUCKET, type SpendRecord } from '../src/budget/spend.store.js';
import { USAGE_SPOOL } from '../src/chat/usage.publisher.js';
import { startGateway, vendorLlm, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Upstream } from './upstreams/upstream-server.js';

/** Far above what the test needs: the held call ends because the test releases it, not because the wait ran out. */
const SHUTDOWN_WAIT_MS = 60_000;
const FR = 'FR-951';
const LATE_FR = 'FR-952';

/**
 * Issue 15 item 5: a call still running when the gateway stops (a rollout) is charged and its
 * usage event published before the bus closes; calls arriving during the stop get a 503 in their
 * API's format. Real gateway, real nats-server, a local OpenAI that holds its first answer.
 */
describe('a call in flight when the gateway stops', () => {
  let openAiUp: Upstream;
  let anthropicUp: Upstream;
  let dir: TempDir;
  const gateways: Gateway[] = [];
  /** Ends the hold of the essay the vendor is writing. */
  let release: () => void = () => undefined;
  let released = Promise.resolve();
  const ESSAY = 'Write a long essay.';

  beforeAll(async () => {
    openAiUp = await startOpenAiUpstream((r) =>
      JSON.stringify(r.body.messages).includes(ESSAY)
        ? { kind: 'held', until: released, content: 'the long answer', inputTokens: 1_000, outputTokens: 500 }
        : { kind: 'answer', content: 'ok' },
    );
    anthropicUp = await startAnthropicUpstream(() => ({ kind: 'answer', content: 'ok' }));
    dir = tempDir('llm-shutdown-');
  });

  beforeEach(() => {
    openAiUp.requests.length = 0;
    released = new Promise<void>((resolve) => (release = resolve));
  });

  afterAll(async () => {
    release();
    for (const gw of gateways) await gw.close();
    await openAiUp?.close();
    await anthropicUp?.close();
    dir?.remove();
  });

  async function boot(shutdownFlushMs: number, work: string): Promise<Gateway> {
    mkdirSync(join(dir.path, work), { recursive: true });
    const gw = await startGateway(vendorLlm(openAiUp.url, anthropicUp.url), {
      dir,
      env: { SHUTDOWN_FLUSH_MS: String(shutdownFlushMs), WORK_DIR: join(dir.path, work) },
    });
    gateways.push(gw);
    return gw;
  }

  const essay = (gw: Gateway, frId = FR) =>
    gw.openai().chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: ESSAY }] }, { headers: { 'x-agency-fr-id': frId } });
  const hi = (gw: Gateway) =>
    gw
      .openai()
      .chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] })
      .catch((x: unknown) => x) as Promise<InstanceType<typeof OpenAI.APIError>>;

  async function stored(gw: Gateway, frId: string): Promise<SpendRecord | undefined> {
    const kv = await KvStore.open<SpendRecord>(gw.bus, BUDGET_BUCKET);
    return (await kv.get(`fr.${frId}`))?.value;
  }

  it('refuses new calls with a 503 in the client format, and close() returns with the held call charged and published', async () => {
    const gw = await boot(SHUTDOWN_WAIT_MS, 'work');
    const held = essay(gw);
    await expectEventually(() => expect(openAiUp.requests).toHaveLength(1), { message: 'the vendor holding the call' });

    let closed = false;
    const closing = gw.stop().then(() => (closed = true));

    // A call sent once the stop began is refused (one sent just before it is still served).
    const openAiRefusal = await expectEventually(
      async () => {
        const e = await hi(gw);
        expect(e).toBeInstanceOf(OpenAI.APIError);
        return e;
      },
      { message: 'a call refused during the stop' },
    );
    expect(openAiRefusal.status).toBe(503);
    expect(openAiRefusal.error).toMatchObject({ type: 'server_error', code: 'shutting_down' });
    expect(openAiRefusal.message).toContain('shutting down');
    expect(openAiRefusal.headers?.get('retry-after')).toBe('1');
    expect(openAiRefusal.headers?.get('connection')).toBe('close');

    const anthropicRefusal = (await gw
      .anthropic()
      .messages.create({ model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((x: unknown) => x)) as InstanceType<typeof Anthropic.APIError>;
    expect(anthropicRefusal).toBeInstanceOf(Anthropic.APIError);
    expect(anthropicRefusal.status).toBe(503);
    expect(anthropicRefusal.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(JSON.stringify(anthropicRefusal.error)).toContain('shutting down');
    expect(anthropicUp.requests).toEqual([]);

    // The stop waits for the held call: nothing of it is charged yet, and close() has not returned.
    expect(await stored(gw, FR)).toBeUndefined();
    expect(closed).toBe(false);

    release();
    const answer = await held;
    expect(answer.choices[0]!.message.content).toBe('the long answer');
    await closing;

    // Stored by the stopping gateway itself before close() returned; nothing left for a next start.
    const spend = await stored(gw, FR);
    expect(spend?.calls).toBe(1);
    expect(spend!.spentUsd).toBeCloseTo((1_000 * 2 + 500 * 8) / 1e6, 9);
    const events = await gw.usageEvents(FR);
    expect(events.map((e) => e.payload)).toEqual([expect.objectContaining({ alias: 'gpt', status: 'ok', outputTokens: 500 })]);
    expect(events[0]!.payload.costUsd).toBeCloseTo(spend!.spentUsd, 9);
    expect(existsSync(join(dir.path, 'work', SPEND_SPOOL)), SPEND_SPOOL).toBe(false);
    expect(existsSync(join(dir.path, 'work', USAGE_SPOOL)), USAGE_SPOOL).toBe(false);
  }, 60_000);

  it('answers a call that outlasts its share of the wait, and the stop ends with it (its kept-alive connection does not hold the close)', async () => {
    // 400 ms: the calls' share ends 300 ms into the stop, long before the essay.
    const gw = await boot(400, 'work-short');
    const held = essay(gw, LATE_FR);
    await expectEventually(() => expect(openAiUp.requests).toHaveLength(1), { message: 'the vendor holding the call' });
    const closing = gw.stop();
    // The flush is over and the HTTP server closes (it refuses connections): only the held call keeps it open.
    await expectEventually(async () => expect((await hi(gw)).status).toBeUndefined(), { timeoutMs: 10_000, message: 'the HTTP server closing' });

    release();
    expect((await held).choices[0]!.message.content).toBe('the long answer');
    // Far below the server's keep-alive timeout (72 s), which a kept-alive connection would make the close wait for.
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 10_000, 'still closing')).then(String)]);
    expect(outcome).toBe('closed');

    // Its charge came after the flush: written before the bus closed, or kept in WORK_DIR and
    // written by the next start; counted once either way.
    const next = await boot(60_000, 'work-short');
    await expectEventually(async () => expect((await stored(next, LATE_FR))?.calls).toBe(1), { message: "the late call's spend in the budget bucket" });
    expect((await stored(next, LATE_FR))!.spentUsd).toBeCloseTo((1_000 * 2 + 500 * 8) / 1e6, 9);
    await expectEventually(() => expect(existsSync(join(dir.path, 'work-short', SPEND_SPOOL)), SPEND_SPOOL).toBe(false));
    // Its usage event too: published by the stopping gateway or by the next start, stored once (same Nats-Msg-Id).
    await expectEventually(() => expect(existsSync(join(dir.path, 'work-short', USAGE_SPOOL)), USAGE_SPOOL).toBe(false));
    const events = await expectEventually(
      async () => {
        const found = await next.usageEvents(LATE_FR);
        expect(found).toHaveLength(1);
        return found;
      },
      { message: "the late call's usage event" },
    );
    expect(events[0]!.payload).toMatchObject({ alias: 'gpt', status: 'ok', outputTokens: 500 });
  }, 60_000);
});
