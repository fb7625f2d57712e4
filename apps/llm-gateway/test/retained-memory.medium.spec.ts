import { queryObjects } from 'node:v8';
import { GATEWAY_KEY, startGateway, type Gateway } from './gateway-harness.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Upstream } from './upstreams/upstream-server.js';

const CALLS = 400;
const AT_ONCE = 8;

/** AbortSignals alive after a full garbage collection (queryObjects collects first). */
const liveSignals = (): number => queryObjects(AbortSignal, { format: 'count' });

/**
 * Issue 15: the gateway ended at ~1 GiB resident after 600k calls. Each call made an
 * AbortSignal.timeout() for its whole deadline (300 s by default) that stayed alive, with its timer
 * and the call's span in its async context, until it fired, even when the call had long been
 * answered: memory grew with the call rate times the deadline (~2.4 KB a call). This counts the
 * AbortSignals alive after many calls: each call makes some (the client's, the call's own), so
 * with the leak the count grows by at least one per call; without it, it comes back down.
 */
describe('memory: a finished call leaves nothing alive behind', () => {
  let up: Upstream;
  let gw: Gateway;

  beforeAll(async () => {
    up = await startOpenAiUpstream(() => ({ kind: 'answer', content: 'done' }));
    gw = await startGateway(`llm:
  providers:
    oa: { type: openai, base_url: "${up.url}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY }
  models:
    gpt: [oa/gpt-4.1]
  prices:
    oa/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
`);
  });

  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  const call = async (i: number): Promise<void> => {
    const res = await fetch(`${gw.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json', 'x-agency-fr-id': 'FR-15' },
      body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: `call ${i}` }], ...(i % 2 ? { stream: true } : {}) }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`call ${i} answered ${res.status}: ${text}`);
  };

  const calls = async (from: number, n: number): Promise<void> => {
    for (let i = from; i < from + n; i += AT_ONCE) await Promise.all(Array.from({ length: AT_ONCE }, (_, k) => call(i + k)));
  };

  it(`keeps no AbortSignal of ${CALLS} answered calls (plain and streamed) alive`, async () => {
    await calls(0, 40);
    up.requests.length = 0;
    const before = liveSignals();
    await calls(40, CALLS);
    expect(up.requests).toHaveLength(CALLS);
    const grown = liveSignals() - before;
    expect(grown).toBeLessThan(CALLS / 10);
  });
});
