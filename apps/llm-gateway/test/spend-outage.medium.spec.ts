import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Messages, STREAMS, type Envelope, type LlmUsageEvent } from '@agency/contracts';
import { runService, type RunningService } from '@agency/bootstrap';
import { BusConnection, KvStore } from '@agency/messaging';
import { expectEventually, freePort, readStream, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { SPEND_SPOOL } from '../src/budget/budget-ledger.js';
import { BUDGET_BUCKET, type SpendRecord } from '../src/budget/spend.store.js';
import { USAGE_SPOOL } from '../src/chat/usage.publisher.js';
import { LLM_GATEWAY_SERVICE } from '../src/llm-gateway.service.js';
import { TEST_SCRIPT } from './gateway-fixture.js';

const KEY = 'tools-secret-0123456789abc';
const LLM = `llm:
  providers:
    scripted: { type: scripted, script: llm-script.yaml }
  models:
    planner: [scripted/planner]
  prices:
    scripted/planner: { input_per_mtok: 3, output_per_mtok: 15 }
`;
const BACK_WITHIN_MS = 45_000;
const TEST_MS = 150_000;
/** The shutdown wait of the test whose outage ends during it (0 makes that test fail: spooled, not stored). */
const SHUTDOWN_WAIT_MS = 60_000;

/**
 * Spend and usage events across a NATS outage (issue 15): nats-server is killed between calls
 * (SIGKILL, real server on a free port) and started again on the same store.
 */
describe('spend and usage events when nats-server goes away', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let bus: BusConnection;
  const running: RunningService[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = tempDir('llm-outage-');
    writeFileSync(join(dir.path, 'gateway.yaml'), LLM);
    writeFileSync(join(dir.path, 'llm-script.yaml'), TEST_SCRIPT);
    mkdirSync(join(dir.path, 'work'));
    bus = await BusConnection.connect({ servers: nats.url, name: 'outage-test' });
  });

  afterAll(async () => {
    for (const s of running) await s.close().catch(() => undefined);
    await bus?.close();
    await nats?.dispose();
    dir?.remove();
  });

  async function boot(env: Record<string, string> = {}): Promise<{ openai: OpenAI; service: RunningService }> {
    const port = await freePort();
    const service = await runService(LLM_GATEWAY_SERVICE, {
      NATS_URL: nats.url,
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
      LLM_CONFIG_FILE: join(dir.path, 'gateway.yaml'),
      WORK_DIR: join(dir.path, 'work'),
      GATEWAY_API_KEYS: `tools:${KEY}`,
      LOG_LEVEL: process.env.OUTAGE_LOG ?? 'fatal',
      ...env,
    });
    running.push(service);
    return { openai: new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: KEY, maxRetries: 0 }), service };
  }

  const ask = (openai: OpenAI, frId: string, budgetUsd?: number) =>
    openai.chat.completions.create(
      { model: 'planner', messages: [{ role: 'user', content: 'plan' }] },
      { headers: { 'x-agency-fr-id': frId, ...(budgetUsd ? { 'x-agency-fr-budget-usd': String(budgetUsd) } : {}) } },
    );

  async function stored(frId: string): Promise<SpendRecord | undefined> {
    const kv = await KvStore.open<SpendRecord>(bus, BUDGET_BUCKET);
    return (await kv.get(`fr.${frId}`))?.value;
  }

  async function usageEvents(frId: string): Promise<LlmUsageEvent[]> {
    const all = await readStream(bus.js, STREAMS.events.name, Messages.LlmUsage.subject);
    return all
      .map((m) => JSON.parse(m.text) as Envelope<LlmUsageEvent>)
      .filter((e) => e.frId === frId)
      .map((e) => e.payload);
  }

  it(
    'writes the spend of calls made during the outage once the server is back, and refuses a budget on the true total meanwhile',
    async () => {
      const { openai } = await boot();
      await ask(openai, 'FR-31');
      await ask(openai, 'FR-31');
      const before = await expectEventually(async () => {
        const r = await stored('FR-31');
        expect(r?.calls).toBe(2);
        return r!;
      });
      const perCall = before.spentUsd / 2;
      expect(perCall).toBeGreaterThan(0);

      await nats.stop('SIGKILL');
      for (let i = 0; i < 3; i += 1) await ask(openai, 'FR-31');
      // The bucket still says two calls; five were made. A budget of four and a half calls is spent.
      const refused = await ask(openai, 'FR-31', perCall * 4.5).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.APIError);
      expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
      expect((refused as Error).message).toContain('budget of FR-31 is used up');

      await nats.restart();
      const after = await expectEventually(
        async () => {
          const r = await stored('FR-31');
          expect(r?.calls).toBe(5);
          return r!;
        },
        { timeoutMs: BACK_WITHIN_MS, message: 'the outage spend in the bucket' },
      );
      expect(after.spentUsd).toBeCloseTo(perCall * 5, 9);
      // Every call's usage event reached the stream too, once each, and they sum to the stored spend.
      const events = await expectEventually(
        async () => {
          const e = await usageEvents('FR-31');
          expect(e.filter((u) => u.status === 'ok')).toHaveLength(5);
          return e;
        },
        { timeoutMs: BACK_WITHIN_MS, message: 'the usage events of the outage' },
      );
      const eventSum = events.filter((u) => u.status === 'ok').reduce((sum, u) => sum + u.costUsd, 0);
      expect(eventSum).toBeCloseTo(after.spentUsd, 9);
      // The budget is judged on the whole total now that it is stored.
      await expect(ask(openai, 'FR-31', perCall * 4.5)).rejects.toMatchObject({ status: 429 });
      await expect(ask(openai, 'FR-31', perCall * 6)).resolves.toBeDefined();
    },
    TEST_MS,
  );

  it(
    'keeps spend and usage events in WORK_DIR when it stops during the outage, and the next start stores them',
    async () => {
      const first = await boot();
      await ask(first.openai, 'FR-32');
      await expectEventually(async () => expect((await stored('FR-32'))?.calls).toBe(1));
      await nats.stop('SIGKILL');
      await ask(first.openai, 'FR-32');
      await ask(first.openai, 'FR-32');
      await first.service.close();
      running.splice(running.indexOf(first.service), 1);

      await nats.restart();
      await boot();
      const after = await expectEventually(
        async () => {
          const r = await stored('FR-32');
          expect(r?.calls).toBe(3);
          return r!;
        },
        { timeoutMs: BACK_WITHIN_MS, message: 'the spooled spend in the bucket' },
      );
      const events = await expectEventually(
        async () => {
          const e = await usageEvents('FR-32');
          expect(e).toHaveLength(3);
          return e;
        },
        { timeoutMs: BACK_WITHIN_MS, message: 'the spooled usage events' },
      );
      expect(events.reduce((sum, u) => sum + u.costUsd, 0)).toBeCloseTo(after.spentUsd, 9);
    },
    TEST_MS,
  );

  it(
    'stores spend and usage events at shutdown when the server comes back during the shutdown wait, spooling nothing',
    async () => {
      const work = join(dir.path, 'work-wait');
      mkdirSync(work);
      const { openai, service } = await boot({ WORK_DIR: work, SHUTDOWN_FLUSH_MS: String(SHUTDOWN_WAIT_MS) });
      await ask(openai, 'FR-33');
      await expectEventually(async () => expect((await stored('FR-33'))?.calls).toBe(1));
      await nats.stop('SIGKILL');
      await ask(openai, 'FR-33');
      await ask(openai, 'FR-33');
      // A failed write spools what is unwritten: the outage was seen before the shutdown.
      await expectEventually(() => expect(existsSync(join(work, SPEND_SPOOL))).toBe(true), { message: 'a failed spend write' });

      // The shutdown begins while the server is down; it comes back during the wait.
      const closing = service.close();
      running.splice(running.indexOf(service), 1);
      await nats.restart();
      await closing;

      // Stored by the closing process itself before it returned: nothing is left for a next start.
      const after = await stored('FR-33');
      expect(after?.calls).toBe(3);
      const events = await usageEvents('FR-33');
      expect(events).toHaveLength(3);
      expect(events.reduce((sum, u) => sum + u.costUsd, 0)).toBeCloseTo(after!.spentUsd, 9);
      expect(existsSync(join(work, SPEND_SPOOL)), SPEND_SPOOL).toBe(false);
      expect(existsSync(join(work, USAGE_SPOOL)), USAGE_SPOOL).toBe(false);
    },
    TEST_MS,
  );
});
