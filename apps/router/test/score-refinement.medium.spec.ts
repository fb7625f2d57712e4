import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type Envelope, type FrScoredEvent } from '@agency/contracts';
import { sampleFr } from '@agency/contracts/testing';
import { runService, type RunningService } from '@agency/bootstrap';
import { BusConnection, BusPublisher, Clock } from '@agency/messaging';
import { seedVault } from '@agency/stack';
import { expectEventually, readStream, startFakeLlm, startNatsServer, tempDir, type FakeLlm, type NatsServerHandle, type TempDir } from '@agency/testing';
import { routerService } from '../src/router.app.js';
import { refinedScore, scoreFr } from '../src/scoring/scoring.service.js';

const exampleVault = join(import.meta.dirname, '..', '..', '..', 'examples', 'vault');
const KEY = 'agency-router-test-key';

describe('router score refined by a model through an OpenAI-compatible gateway (real nats-server, real HTTP)', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let bus: BusConnection;
  let model: FakeLlm;
  const callsFor = (frId: string) => model.calls.filter((c) => c.headers['x-agency-fr-id'] === frId);
  let service: RunningService | undefined;

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = tempDir('router-refine-');
    bus = await BusConnection.connect({ servers: nats.url, name: 'router-refine-test' });
    // The gateway, as far as the router's LlmClient can tell: OpenAI's wire format, answers by FR.
    const answers: Record<string, string> = { 'FR-1': '{"adjustment":12,"reason":"touches auth"}', 'FR-2': 'Looks about right to me.' };
    model = await startFakeLlm(KEY);
    model.respond = (call) => answers[String(call.headers['x-agency-fr-id'])] ?? '{}';
    const gatewayUrl = model.url;

    // The example vault, with the refinement on and a small tier that the heuristic score fits but the refined one does not.
    const vault = join(dir.path, 'vault');
    seedVault(exampleVault, vault);
    const file = join(vault, '40_config', 'agency.yaml');
    const yaml = readFileSync(file, 'utf8');
    expect(yaml).toContain('max_score: 35');
    writeFileSync(file, `${yaml.replace('max_score: 35', 'max_score: 15')}\nrouting:\n  refine_model: router-check\n  max_adjustment: 15\n`);

    service = await runService(routerService, {
      NATS_URL: nats.url,
      VAULT_PATH: vault,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      LLM_GATEWAY_URL: gatewayUrl,
      LLM_GATEWAY_API_KEY: KEY,
      LLM_TIMEOUT_MS: '10000',
    });
  });

  afterAll(async () => {
    await service?.close();
    await bus?.close();
    await model?.close();
    await nats?.dispose();
    dir?.remove();
  });

  async function scored(frId: string): Promise<FrScoredEvent> {
    const publisher = new BusPublisher(bus, new Clock());
    await publisher.publish(Messages.ScoreFr, { frId, sagaId: `${frId}-r1`, step: 'score', attempt: 1, payload: { fr: { ...sampleFr(), id: frId } } });
    let event: FrScoredEvent | undefined;
    await expectEventually(async () => {
      const events = (await readStream(bus.js, STREAMS.events.name, Messages.FrScored.subject)).map((m) => JSON.parse(m.text) as Envelope<FrScoredEvent>);
      const mine = events.filter((e) => e.frId === frId);
      expect(mine).toHaveLength(1);
      event = mine[0]!.payload;
    });
    return event!;
  }

  it("applies the model's adjustment, names it as a reason, picks the tier from the refined score, and bills the FR", async () => {
    const heuristic = scoreFr(sampleFr()).score;
    expect(heuristic).toBeLessThanOrEqual(15);

    const event = await scored('FR-1');

    expect(event.score).toBe(refinedScore(heuristic, 12));
    expect(event.reasons.at(-1)).toEqual({ feature: 'model', points: 12, detail: 'router-check: touches auth' });
    expect(event.tier).toBe('medium');
    expect(event.strategy).toMatchObject({ tier: 'medium', budgetUsd: 10 });

    const calls = callsFor('FR-1');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers).toMatchObject({
      'x-agency-fr-id': 'FR-1',
      'x-agency-saga-id': 'FR-1-r1',
      'x-agency-step': 'score',
      'x-agency-fr-budget-usd': '2',
    });
    expect(calls[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(calls[0]!.body).toMatchObject({ model: 'router-check', response_format: { type: 'json_object' }, temperature: 0 });
    expect(calls[0]!.body.messages[1]!.content).toContain('FR-1: Add a greeting');
    expect(calls[0]!.body.messages[1]!.content).toContain(`Heuristic score: ${heuristic}/100`);
  });

  it('keeps the heuristic score and tier when the model answers no JSON twice (the client repairs once)', async () => {
    const event = await scored('FR-2');

    expect(event.score).toBe(scoreFr({ ...sampleFr(), id: 'FR-2' }).score);
    expect(event.tier).toBe('small');
    const reason = event.reasons.at(-1)!;
    expect(reason).toMatchObject({ feature: 'model', points: 0 });
    expect(reason.detail).toMatch(
      /^model refinement failed \(router-check\): model router-check gave no usable JSON after 1 repair turn\(s\): first answer: not valid JSON .*; repair 1: not valid JSON .*; heuristic score kept$/,
    );

    const calls = callsFor('FR-2');
    expect(calls).toHaveLength(2);
    // The repair turn shows the model its answer and what was wrong with it.
    expect(calls[1]!.body.messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'Looks about right to me.' },
      { role: 'user', content: expect.stringMatching(/^Your answer could not be used: not valid JSON/) },
    ]);
  });
});
