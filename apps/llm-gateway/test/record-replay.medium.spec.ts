import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import { decodeChunk, type CassetteExchange } from '../src/providers/cassette/cassette.js';
import { cassetteLlm, GATEWAY_KEY, READ_FILE_TOOL, startGateway, type Gateway } from './gateway-harness.js';
import { ANTHROPIC_UPSTREAM_KEY, anthropicWire, startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { OPENAI_UPSTREAM_KEY, startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Behaviour, ReceivedRequest, Upstream } from './upstreams/upstream-server.js';

const llm = (dir: string, providers: string) =>
  cassetteLlm(
    dir,
    providers,
    { gpt: 'oa/gpt-4.1', claude: 'claude/claude-sonnet-4-5' },
    '  routing: { retries: 2, backoff_initial_ms: 5, backoff_max_ms: 10 }\n',
  );

const RECORD = (oa: string, claude: string) => `    oa-live: { type: openai, base_url: "${oa}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY }
    claude-live: { type: anthropic, base_url: "${claude}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY }
    oa: { type: record, provider: oa-live, cassette: CASSETTES/oa.jsonl }
    claude: { type: record, provider: claude-live, cassette: CASSETTES/claude.jsonl }`;
const REPLAY = `    oa: { type: replay, cassette: CASSETTES/oa.jsonl }
    claude: { type: replay, cassette: CASSETTES/claude.jsonl }`;

const TOOL = { type: 'function', function: { name: READ_FILE_TOOL.name, parameters: READ_FILE_TOOL.schema } };
const ANTHROPIC_TOOL = { name: READ_FILE_TOOL.name, input_schema: READ_FILE_TOOL.schema };

/** The session: raw HTTP calls, so the exact bytes each answer had can be compared. */
const SESSION: Array<{ path: string; body: object; note: string }> = [
  {
    note: 'OpenAI client, OpenAI upstream, tool call',
    path: '/v1/chat/completions',
    body: { model: 'gpt', messages: [{ role: 'user', content: 'read greet.js' }], tools: [TOOL] },
  },
  {
    note: 'OpenAI client, OpenAI upstream, streamed',
    path: '/v1/chat/completions',
    body: { model: 'gpt', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'say hi' }] },
  },
  { note: 'retried after a 429', path: '/v1/chat/completions', body: { model: 'gpt', messages: [{ role: 'user', content: 'busy vendor' }] } },
  {
    note: 'Anthropic client, Anthropic upstream',
    path: '/v1/messages',
    body: { model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'say hi' }] },
  },
  {
    note: 'Anthropic client, Anthropic upstream, streamed tool use',
    path: '/v1/messages',
    body: { model: 'claude', max_tokens: 64, stream: true, tools: [ANTHROPIC_TOOL], messages: [{ role: 'user', content: 'read greet.js' }] },
  },
  {
    note: 'Anthropic client, OpenAI upstream, streamed',
    path: '/v1/messages',
    body: { model: 'gpt', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'translate me' }] },
  },
  { note: 'OpenAI client, Anthropic upstream', path: '/v1/chat/completions', body: { model: 'claude', messages: [{ role: 'user', content: 'say hi' }] } },
  {
    note: 'OpenAI client, Anthropic upstream, streamed tool use',
    path: '/v1/chat/completions',
    body: { model: 'claude', stream: true, tools: [TOOL], messages: [{ role: 'user', content: 'read greet.js' }] },
  },
];

function answerFor(r: ReceivedRequest): Behaviour {
  const text = JSON.stringify(r.body.messages);
  if (text.includes('read greet.js'))
    return { kind: 'answer', toolCalls: [{ id: r.path === '/v1/messages' ? 'toolu_01R' : 'call_R1', name: 'read_file', arguments: '{"path":"greet.js"}' }] };
  return { kind: 'answer', content: `recorded answer to ${text.length} characters, with ünïcödé and emoji 🎉`, cachedTokens: 3 };
}

async function play(gw: Gateway): Promise<string[]> {
  const bodies: string[] = [];
  for (const call of SESSION) {
    const res = await fetch(`${gw.origin}${call.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(call.body),
    });
    expect(res.status, call.note).toBe(200);
    bodies.push(await res.text());
  }
  return bodies;
}

describe('record a session against local vendors, then replay it offline', () => {
  let dir: TempDir;
  let openAiUp: Upstream;
  let anthropicUp: Upstream;

  beforeAll(async () => {
    dir = tempDir('llm-cassette-');
    let busy = 0;
    openAiUp = await startOpenAiUpstream((r) =>
      JSON.stringify(r.body).includes('busy vendor') && busy++ === 0
        ? { kind: 'status', status: 429, message: 'slow down', headers: { 'retry-after-ms': '5' } }
        : answerFor(r),
    );
    anthropicUp = await startAnthropicUpstream(answerFor);
  });

  afterAll(async () => {
    await openAiUp?.close();
    await anthropicUp?.close();
    dir?.remove();
  });

  it('replays every answer byte for byte with the vendors gone', async () => {
    const recorder = await startGateway(llm(dir.path, RECORD(openAiUp.url, anthropicUp.url)));
    let recorded: string[];
    try {
      recorded = await play(recorder);
    } finally {
      await recorder.close();
    }
    const oaFile = join(dir.path, 'cassettes', 'oa.jsonl');
    const claudeFile = join(dir.path, 'cassettes', 'claude.jsonl');
    // One exchange per vendor call: 5 to OpenAI (the 429 and its retry included), 4 to Anthropic.
    await expectEventually(() => {
      expect(existsSync(oaFile) && readFileSync(oaFile, 'utf8').trim().split('\n')).toHaveLength(5);
      expect(readFileSync(claudeFile, 'utf8').trim().split('\n')).toHaveLength(4);
    });
    const cassette = readFileSync(oaFile, 'utf8') + readFileSync(claudeFile, 'utf8');
    expect(cassette).not.toContain(OPENAI_UPSTREAM_KEY);
    expect(cassette).not.toContain(ANTHROPIC_UPSTREAM_KEY);

    // The cassette holds the vendor's exact bytes, chunk by chunk.
    const claudeExchanges = readFileSync(claudeFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as CassetteExchange);
    // Every call asks Anthropic for a stream (non-streaming clients get it assembled); this is the tool use.
    const streamed = claudeExchanges.find((e) => (e.request.body as { tools?: unknown }).tools)!;
    const sent = anthropicWire
      .events({ toolCalls: [{ id: 'toolu_01R', name: 'read_file', arguments: '{"path":"greet.js"}' }] }, {
        body: { model: 'claude-sonnet-4-5' },
      } as unknown as ReceivedRequest)
      .join('');
    expect(Buffer.concat(streamed.response!.chunks.map(decodeChunk)).toString('utf8')).toBe(sent);
    expect(streamed.response!.chunks.length).toBeGreaterThan(3);

    // Anthropic's answers carry no time: an OpenAI client's `created` is the HTTP Date of the
    // vendor's answer, which the cassette keeps, not the gateway's clock.
    let latest = 0;
    SESSION.forEach((call, i) => {
      if (!call.note.startsWith('OpenAI client, Anthropic upstream')) return;
      // The OpenAI client sent no max_tokens: the gateway asked Anthropic for its default, 4096.
      const body = (e: CassetteExchange) => e.request.body as { max_tokens: number; tools?: unknown };
      const exchange = claudeExchanges.find((e) => body(e).max_tokens === 4096 && Boolean(body(e).tools) === 'tools' in call.body)!;
      expect(exchange.response!.headers.date, call.note).toMatch(/GMT$/);
      const created = Math.floor(Date.parse(exchange.response!.headers.date!) / 1000);
      expect(recorded[i], call.note).toContain(`"created":${created},`);
      latest = Math.max(latest, created);
    });
    // Replay in a later second than the recording, so an answer stamped by the gateway's clock would differ.
    while (Math.floor(Date.now() / 1000) <= latest) await new Promise((r) => setTimeout(r, 50));

    // The vendors go away; the same session is served from the cassettes.
    await openAiUp.close();
    await anthropicUp.close();
    const player = await startGateway(llm(dir.path, REPLAY));
    try {
      const replayed = await play(player);
      SESSION.forEach((call, i) => expect(replayed[i], call.note).toBe(recorded[i]));
      expect(recorded[3]).toContain('ünïcödé and emoji 🎉');

      const unknown = await fetch(`${player.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'never recorded' }] }),
      });
      expect(unknown.status).toBe(422);
      expect(((await unknown.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'cassette_no_match',
        message: expect.stringContaining('replay provider "oa": oa.jsonl has no recorded exchange for this request'),
      });
    } finally {
      await player.close();
    }
  });
});
