import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';
import { cassetteLlm, READ_FILE_TOOL, startGateway, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Behaviour, ReceivedRequest, Upstream } from './upstreams/upstream-server.js';

const llm = (dir: string, providers: string) => cassetteLlm(dir, providers, { coder: 'oa/gpt-4.1', reviewer: 'claude/claude-sonnet-4-5' });

const RECORD = (oa: string, claude: string) => `    oa-live: { type: openai, base_url: "${oa}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY }
    claude-live: { type: anthropic, base_url: "${claude}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY }
    oa: { type: record, provider: oa-live, cassette: CASSETTES/fr-801.jsonl }
    claude: { type: record, provider: claude-live, cassette: CASSETTES/fr-801-review.jsonl }`;
const REPLAY = `    oa: { type: replay, cassette: CASSETTES/fr-801.jsonl, match: conversation }
    claude: { type: replay, cassette: CASSETTES/fr-801-review.jsonl, match: conversation }`;

const CODE = { 'x-agency-fr-id': 'FR-801', 'x-agency-step': 'code-r1' };
const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: READ_FILE_TOOL.name, parameters: READ_FILE_TOOL.schema } }];

/** Reads two files, one per turn, then answers. */
function coderModel(r: ReceivedRequest): Behaviour {
  const results = JSON.stringify(r.body.messages).match(/"role":"tool"/g)?.length ?? 0;
  if (results >= 2) return { kind: 'answer', content: `Done after ${results} reads.` };
  return { kind: 'answer', toolCalls: [{ id: `call_${results}`, name: 'read_file', arguments: JSON.stringify({ path: `src/f${results}.js` }) }] };
}

/** A coder's tool loop as the agency runs it; the system prompt and the tool results carry this run's clock. */
async function codeLoop(openai: OpenAI, clock: string): Promise<OpenAI.ChatCompletion[]> {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: `You are the coder. Started at ${clock}.` },
    { role: 'user', content: 'Add a farewell function to src/greet.js.' },
  ];
  const answers: OpenAI.ChatCompletion[] = [];
  for (let turn = 0; turn < 4; turn += 1) {
    const answer = await openai.chat.completions.create({ model: 'coder', messages, tools }, { headers: CODE });
    answers.push(answer);
    const m = answer.choices[0]!.message;
    if (!m.tool_calls?.length) return answers;
    messages.push({ role: 'assistant', content: m.content, tool_calls: m.tool_calls });
    for (const c of m.tool_calls)
      messages.push({ role: 'tool', tool_call_id: c.id, content: `export const x = 1; // read at ${clock}, took ${turn * 7 + clock.length} ms` });
  }
  throw new Error('the loop did not end');
}

const review = (anthropic: Anthropic, diff: string) =>
  anthropic.messages
    .stream(
      { model: 'reviewer', max_tokens: 200, system: 'You review.', messages: [{ role: 'user', content: `Review this diff:\n${diff}` }] },
      { headers: { 'x-agency-fr-id': 'FR-801', 'x-agency-step': 'review-r1' } },
    )
    .finalMessage();

describe('replay by conversation: a recorded tool loop replays although its tool results changed', () => {
  let dir: TempDir;
  let openAiUp: Upstream;
  let anthropicUp: Upstream;
  let recorded: { code: OpenAI.ChatCompletion[]; review: Anthropic.Message };

  beforeAll(async () => {
    dir = tempDir('llm-conversation-');
    openAiUp = await startOpenAiUpstream(coderModel);
    anthropicUp = await startAnthropicUpstream(() => ({ kind: 'answer', content: 'Approve: the change is small and tested.' }));
    const recorder = await startGateway(llm(dir.path, RECORD(openAiUp.url, anthropicUp.url)));
    try {
      recorded = {
        code: await codeLoop(recorder.openai(), '2026-11-24T10:00:00Z'),
        review: await review(recorder.anthropic(), '+export const farewell = () => "bye";'),
      };
    } finally {
      await recorder.close();
    }
    const file = join(dir.path, 'cassettes', 'fr-801.jsonl');
    await expectEventually(() => expect(existsSync(file) && readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3));
    await openAiUp.close();
    await anthropicUp.close();
  });

  afterAll(() => dir?.remove());

  let player: Gateway;
  beforeEach(async () => {
    player = await startGateway(llm(dir.path, REPLAY));
  });
  afterEach(async () => {
    await player?.close();
  });

  it('records who made each call, and answers a later run with other timings as recorded, the vendors gone', async () => {
    const lines = readFileSync(join(dir.path, 'cassettes', 'fr-801.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { call: object });
    expect(lines.map((l) => l.call)).toEqual([0, 1, 2].map(() => ({ alias: 'coder', frId: 'FR-801', step: 'code-r1' })));
    const code = await codeLoop(player.openai(), '2026-12-01T08:30:00Z (a later run)');
    expect(code.map((a) => a.choices[0]!.message)).toEqual(recorded.code.map((a) => a.choices[0]!.message));
    expect(code.at(-1)!.choices[0]!.message.content).toBe('Done after 2 reads.');
    const again = await review(player.anthropic(), '+export const farewell = () => "goodbye";');
    expect(again.content).toEqual(recorded.review.content);
  });

  it('answers 422 cassette_no_match naming the difference when the run calls another tool or goes a turn further', async () => {
    const openai = player.openai();
    const first = recorded.code[0]!.choices[0]!.message;
    const otherTool: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are the coder.' },
      { role: 'user', content: 'Add a farewell function to src/greet.js.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: first.tool_calls![0]!.id, type: 'function', function: { name: 'write_file', arguments: '{"path":"src/f0.js"}' } }],
      },
      { role: 'tool', tool_call_id: first.tool_calls![0]!.id, content: 'written' },
    ];
    const e = (await openai.chat.completions
      .create({ model: 'coder', messages: otherTool, tools }, { headers: CODE })
      .catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(422);
    expect(e.code).toBe('cassette_no_match');
    expect(e.message).toContain(
      'fr-801.jsonl recorded FR-801 code round 1 turn 1 as another conversation: at turn 0 the recording called read_file({"path":"src/f0.js"}), this request has write_file({"path":"src/f0.js"})',
    );

    const further = [
      ...otherTool.slice(0, 2),
      ...[0, 1, 2].flatMap((t): OpenAI.ChatCompletionMessageParam[] => [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: `call_${t}`, type: 'function', function: { name: 'read_file', arguments: `{"path":"src/f${t}.js"}` } }],
        },
        { role: 'tool', tool_call_id: `call_${t}`, content: 'x' },
      ]),
    ];
    const f = (await openai.chat.completions.create({ model: 'coder', messages: further, tools }, { headers: CODE }).catch((x: unknown) => x)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(f.status).toBe(422);
    expect(f.message).toContain('has no recorded call for FR-801 code round 1 turn 3 (recorded turns of FR-801 code round 1: 0, 1, 2)');
  });
});
