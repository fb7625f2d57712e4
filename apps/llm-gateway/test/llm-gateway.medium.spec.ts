import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Messages, STREAMS, type Envelope, type LlmUsageEvent } from '@agency/contracts';
import { runService, type RunningService } from '@agency/bootstrap';
import { LlmClient } from '@agency/llm-client';
import { BusConnection } from '@agency/messaging';
import { withSpan, type SpanRecord } from '@agency/telemetry';
import { expectEventually, freePort, readStream, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import type { OpenAiErrorBody } from '../src/http/api-error.js';
import { LLM_GATEWAY_SERVICE } from '../src/llm-gateway.service.js';
import { agencyYaml, TEST_LLM, writeVault } from './gateway-fixture.js';

const KEY = 'agents-secret-0123456789';
const OTHER_KEY = 'cli-secret-abcdefghijkl';

describe('llm-gateway over HTTP, with a real NATS', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let gateway: RunningService;
  let bus: BusConnection;
  let baseUrl: string;
  let traceFile: string;
  let openai: OpenAI;
  let client: LlmClient;

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = tempDir('llm-gateway-');
    writeVault(join(dir.path, 'vault'));
    traceFile = join(dir.path, 'spans.jsonl');
    const port = await freePort();
    gateway = await runService(LLM_GATEWAY_SERVICE, {
      NATS_URL: nats.url,
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
      VAULT_PATH: join(dir.path, 'vault'),
      GATEWAY_API_KEYS: `agents:${KEY},cli:${OTHER_KEY}`,
      LOG_LEVEL: 'warn',
      AGENCY_TRACE_FILE: traceFile,
    });
    baseUrl = `http://127.0.0.1:${port}/v1`;
    openai = new OpenAI({ baseURL: baseUrl, apiKey: KEY, maxRetries: 0 });
    client = new LlmClient({ baseUrl, apiKey: KEY, maxRetries: 0 });
    bus = await BusConnection.connect({ servers: nats.url, name: 'gateway-test' });
  });

  afterAll(async () => {
    await bus?.close();
    await gateway?.close();
    await nats?.dispose();
    dir?.remove();
  });

  async function usageEvents(frId: string): Promise<Envelope<LlmUsageEvent>[]> {
    const all = await readStream(bus.js, STREAMS.events.name, Messages.LlmUsage.subject);
    return all.map((m) => JSON.parse(m.text) as Envelope<LlmUsageEvent>).filter((e) => e.frId === frId);
  }

  function spans(): SpanRecord[] {
    if (!existsSync(traceFile)) return [];
    return readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SpanRecord);
  }

  it('answers the openai SDK from the script, with usage', async () => {
    const completion = await openai.chat.completions.create(
      {
        model: 'planner',
        messages: [
          { role: 'system', content: 'You plan.' },
          { role: 'user', content: 'Plan FR-101.' },
        ],
      },
      { headers: { 'x-agency-fr-id': 'FR-101' } },
    );
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('scripted/planner');
    expect(completion.choices[0]!.message).toMatchObject({ role: 'assistant', content: '{"summary": "plan for FR-101", "steps": []}' });
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    // 3 priming + (3 + ceil(9/4)) + (3 + ceil(12/4)) = 15; output ceil(43/4) = 11.
    expect(completion.usage).toMatchObject({ prompt_tokens: 15, completion_tokens: 11, total_tokens: 26, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it('serves LlmClient: chat, and chatJson with its one repair', async () => {
    const ctx = { frId: 'FR-102', jobId: 'job-102', sagaId: 'saga-102', step: 'code' };
    const plain = await client.chat({ model: 'planner', messages: [{ role: 'user', content: 'anything' }] }, ctx);
    expect(plain).toMatchObject({ content: 'generic plan for FR-102', model: 'scripted/planner' });
    expect(plain.inputTokens).toBeGreaterThan(0);

    const parse = (v: unknown) => {
      if (typeof v !== 'object' || v === null || (v as { fixed?: unknown }).fixed !== true) throw new Error('fixed must be true');
      return v as { fixed: true; fr: string };
    };
    const json = await client.chatJson({ model: 'coder', messages: [{ role: 'user', content: 'Please fix the bug.' }] }, parse, ctx);
    expect(json.repaired).toBe(true);
    expect(json.value).toEqual({ fixed: true, fr: 'FR-102' });
  });

  it('publishes one usage event per call, tagged from the headers', async () => {
    const ctx = { frId: 'FR-104', jobId: 'job-104', sagaId: 'saga-104', step: 'plan' };
    await client.chat({ model: 'planner', messages: [{ role: 'user', content: 'one' }] }, ctx);
    await client.chat({ model: 'planner', messages: [{ role: 'user', content: 'two' }] }, ctx);
    const events = await expectEventually(async () => {
      const evts = await usageEvents('FR-104');
      expect(evts).toHaveLength(2);
      return evts;
    });
    for (const e of events) {
      expect(e).toMatchObject({ type: 'llm-gateway.usage', frId: 'FR-104', jobId: 'job-104', sagaId: 'saga-104', step: 'plan', attempt: 1 });
      expect(e.payload).toMatchObject({ alias: 'planner', provider: 'scripted', model: 'planner', status: 'ok', cachedInputTokens: 0, apiKeyId: 'agents' });
      expect(e.payload.outputTokens).toBe(Math.ceil('generic plan for FR-104'.length / 4));
      const expected = (e.payload.inputTokens * 3 + e.payload.outputTokens * 15) / 1e6;
      expect(e.payload.costUsd).toBeCloseTo(expected, 12);
    }
    expect(events[0]!.id).not.toBe(events[1]!.id);
  });

  it('counts every call of a burst of concurrent calls of one step, folded or not, at the cost of their tokens', async () => {
    const ctx = { frId: 'FR-111', jobId: 'job-111', sagaId: 'saga-111', step: 'code' };
    const n = 24;
    await Promise.all(Array.from({ length: n }, (_, i) => client.chat({ model: 'planner', messages: [{ role: 'user', content: `call ${i}` }] }, ctx)));
    const events = await expectEventually(async () => {
      const evts = await usageEvents('FR-111');
      expect(evts.reduce((sum, e) => sum + (e.payload.calls ?? 1), 0)).toBe(n);
      return evts;
    });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const e of events) {
      expect(e).toMatchObject({ frId: 'FR-111', jobId: 'job-111', sagaId: 'saga-111', step: 'code' });
      const calls = e.payload.calls ?? 1;
      expect(e.payload.outputTokens).toBe(calls * Math.ceil('generic plan for FR-111'.length / 4));
      expect(e.payload.costUsd).toBeCloseTo((e.payload.inputTokens * 3 + e.payload.outputTokens * 15) / 1e6, 12);
    }
  });

  it('defaults step and saga when only the FR header is sent, and reports failures as error usage', async () => {
    await openai.chat.completions.create({ model: 'planner', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-agency-fr-id': 'FR-105' } });
    await expect(
      openai.chat.completions.create({ model: 'reviewer', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-agency-fr-id': 'FR-105' } }),
    ).rejects.toThrow(/no rule in llm-script.yaml matches model "reviewer" for FR-105/);
    const events = await expectEventually(async () => {
      const evts = await usageEvents('FR-105');
      expect(evts).toHaveLength(2);
      return evts;
    });
    expect(events.map((e) => [e.sagaId, e.step, e.payload.status])).toEqual([
      ['FR-105', 'llm', 'ok'],
      ['FR-105', 'llm', 'error'],
    ]);
  });

  it('answers an unmatched call with a 422 naming the model and FR', async () => {
    const error = await openai.chat.completions
      .create({ model: 'reviewer', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-agency-fr-id': 'FR-106' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('script_no_match');
  });

  it('matches on text of the last user message', async () => {
    const ctx = { frId: 'FR-103' };
    const hit = await client.chat({ model: 'coder', messages: [{ role: 'user', content: 'Please fix the bug in greet().' }] }, ctx);
    expect(hit.content).toBe('bug fixed for FR-103');
    // Only the last user message counts.
    const miss = await openai.chat.completions.create(
      {
        model: 'coder',
        messages: [
          { role: 'user', content: 'fix the bug' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: 'thanks' },
        ],
      },
      { headers: { 'x-agency-fr-id': 'FR-103' } },
    );
    expect(miss.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('returns tool calls from the script', async () => {
    const completion = await openai.chat.completions.create(
      { model: 'coder', messages: [{ role: 'user', content: 'look around' }] },
      { headers: { 'x-agency-fr-id': 'FR-107' } },
    );
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_\d+$/), type: 'function', function: { name: 'read_file', arguments: '{"path":"docs/FR-107.md"}' } },
    ]);
  });

  it('rejects a wrong or missing key with 401 in OpenAI format', async () => {
    const wrong = new OpenAI({ baseURL: baseUrl, apiKey: 'not-a-real-key-000000', maxRetries: 0 });
    const error = await wrong.chat.completions.create({ model: 'planner', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');

    const res = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'planner', messages: [] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { message: expect.stringContaining('did not provide an API key'), type: 'invalid_request_error', param: null, code: 'missing_api_key' },
    });

    const models = await fetch(`${baseUrl}/models`);
    expect(models.status).toBe(401);
    const nowhere = await fetch(`${baseUrl}/audio/speech`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    expect(nowhere.status).toBe(404);
    expect(((await nowhere.json()) as OpenAiErrorBody).error).toMatchObject({ type: 'invalid_request_error', code: 'not_found' });

    // The second configured key works too, and is the caller usage events name.
    const other = new OpenAI({ baseURL: baseUrl, apiKey: OTHER_KEY, maxRetries: 0 });
    await other.chat.completions.create({ model: 'planner', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-agency-fr-id': 'FR-108' } });
    await expectEventually(async () => expect((await usageEvents('FR-108')).map((e) => e.payload.apiKeyId)).toEqual(['cli']));
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const error = await openai.chat.completions.create({ model: 'gpt-17', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((error as Error).message).toMatch(/`gpt-17` does not exist.*`planner`, `coder`, `reviewer`/);
  });

  it('names the bad field of an invalid body with 400, and refuses an oversized body with 413', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
        body,
      });
    const bad = await post(
      JSON.stringify({
        model: 'planner',
        messages: [
          { role: 'user', content: 'ok' },
          { role: 'robot', content: 'x' },
        ],
      }),
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { message: expect.stringContaining("'messages[1].role': must be one of"), type: 'invalid_request_error', param: 'messages[1].role', code: null },
    });

    const sdkError = await openai.chat.completions
      .create({ model: 'planner', messages: [{ role: 'user', content: 'x' }], temperature: 7 })
      .catch((e: unknown) => e);
    expect(sdkError).toBeInstanceOf(OpenAI.BadRequestError);
    expect((sdkError as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');

    const notJson = await post('{"model": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as OpenAiErrorBody).error.type).toBe('invalid_request_error');

    const badHeader = await post(JSON.stringify({ model: 'planner', messages: [{ role: 'user', content: 'x' }] }), { 'x-agency-fr-id': 'not an id' });
    expect(badHeader.status).toBe(400);
    expect(((await badHeader.json()) as OpenAiErrorBody).error).toMatchObject({ param: 'x-agency-fr-id', code: 'invalid_header' });

    const huge = await post(JSON.stringify({ model: 'planner', messages: [{ role: 'user', content: 'x'.repeat(9 * 1024 * 1024) }] }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'request_too_large' } });
  });

  it('passes response_format json_object through and answers', async () => {
    const completion = await openai.chat.completions.create(
      { model: 'planner', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } },
      { headers: { 'x-agency-fr-id': 'FR-101' } },
    );
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ summary: 'plan for FR-101', steps: [] });
  });

  it('streams in OpenAI chunk format, ending with usage and [DONE]', async () => {
    const stream = await openai.chat.completions.create(
      { model: 'planner', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-agency-fr-id': 'FR-109' } },
    );
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe('generic plan for FR-109');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ completion_tokens: 6 });
    expect(chunks).toBeGreaterThanOrEqual(3);
    await expectEventually(async () => expect((await usageEvents('FR-109')).map((e) => [e.payload.status, e.payload.outputTokens])).toEqual([['ok', 6]]));

    const post = (headers: Record<string, string>) =>
      fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'planner', messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
    const raw = await post({ 'x-agency-fr-id': 'FR-109' });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await raw.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('"usage"');

    // A failure before the first piece is still a plain HTTP error: here the reply needs {{frId}}.
    const early = await post({});
    expect(early.status).toBe(422);
    expect(((await early.json()) as OpenAiErrorBody).error).toMatchObject({
      code: 'script_placeholder',
      message: expect.stringContaining('uses {{frId}} but the call has no x-agency-fr-id header'),
    });
  });

  it('lists the aliases, and picks up an edited agency.yaml without a restart', async () => {
    expect((await openai.models.list()).data.map((m) => m.id)).toEqual(['planner', 'coder', 'reviewer']);
    const file = join(dir.path, 'vault', '40_config', 'agency.yaml');
    writeFileSync(
      file,
      agencyYaml(TEST_LLM.replace('    reviewer: [scripted/reviewer]\n', '    reviewer: [scripted/reviewer]\n    fast: [scripted/planner]\n')),
    );
    await expectEventually(async () => expect((await openai.models.list()).data.map((m) => m.id)).toContain('fast'));
    expect((await openai.models.retrieve('fast')).id).toBe('fast');
    // A bad edit is refused and the last good configuration keeps serving.
    writeFileSync(file, agencyYaml(TEST_LLM.replace('[scripted/planner]', '[nowhere/planner]')));
    expect((await openai.models.list()).data.map((m) => m.id)).toContain('fast');
  });

  it('makes the call span a child of the caller trace, with GenAI attributes', async () => {
    let callerTrace = '';
    await withSpan('agent step', {}, async (span) => {
      callerTrace = span.spanContext().traceId;
      await client.chat({ model: 'planner', messages: [{ role: 'user', content: 'trace me' }] }, { frId: 'FR-110' });
    });
    const span = await expectEventually(() => {
      const s = spans().find((x) => x.name === 'chat planner' && x.attributes['agency.fr_id'] === 'FR-110' && x.kind === 1);
      expect(s).toBeDefined();
      return s!;
    });
    expect(span.traceId).toBe(callerTrace);
    const clientSpan = spans().find(
      (x) => x.name === 'chat planner' && x.traceId === callerTrace && x.kind === 2 && x.attributes['agency.fr_id'] === undefined,
    );
    expect(clientSpan).toBeDefined();
    expect(span.parentSpanId).toBe(clientSpan!.spanId);
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'planner',
      'gen_ai.response.model': 'scripted/planner',
      'gen_ai.system': 'scripted',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.usage.output_tokens': Math.ceil('generic plan for FR-110'.length / 4),
    });
    expect(span.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
  });

  it('counts calls, tokens and cost in /metrics', async () => {
    const text = await (await fetch(baseUrl.replace('/v1', '/metrics'))).text();
    expect(text).toMatch(/llm_gateway_requests_total\{alias="planner",model="scripted\/planner",status="200",key="agents",service="llm-gateway"\} \d+/);
    expect(text).toMatch(/llm_gateway_requests_total\{alias="unknown",model="none",status="404"/);
    expect(text).toMatch(/llm_gateway_tokens_total\{alias="planner",model="scripted\/planner",kind="output"/);
    expect(text).toMatch(/llm_gateway_cost_usd_total\{alias="planner"/);
    expect(text).toMatch(/llm_gateway_request_duration_seconds_bucket/);
  });
});
