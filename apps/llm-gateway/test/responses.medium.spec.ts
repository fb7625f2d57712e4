import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, Output, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { GATEWAY_KEY, READ_FILE_TOOL, startGateway, vendorProviders, type Gateway } from './gateway-harness.js';
import { startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { startOpenAiCompatibleUpstream, startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Behaviour, ReceivedRequest, Upstream } from './upstreams/upstream-server.js';

const GREETING = '{"name":"greet","exported":true}';

/** A model that reads the file first, then answers (in JSON when asked for JSON). */
function model(callId: string) {
  return (r: ReceivedRequest): Behaviour => {
    const text = JSON.stringify(r.body);
    const wantsJson = r.body.response_format !== undefined || text.includes('Answer with one JSON object');
    if (wantsJson) return { kind: 'answer', content: GREETING };
    const hasResult = text.includes('"tool_result"') || text.includes('"role":"tool"');
    const tools = Array.isArray(r.body.tools) && r.body.tools.length > 0;
    if (hasResult || !tools) return { kind: 'answer', content: 'The file greets the world.' };
    // Asked to think aloud, it says so before its tool call, in the same turn.
    const preamble = text.includes('think aloud') ? { content: 'Let me read it.' } : {};
    return { kind: 'answer', ...preamble, toolCalls: [{ id: callId, name: 'read_file', arguments: '{"path":"src/greet.js"}' }] };
  };
}

function llm(oa: string, claude: string, local: string): string {
  return `llm:
  providers:
${vendorProviders(oa, claude, local)}
    scripted: { type: scripted, script: llm-script.yaml }
  models:
    gpt: [oa/gpt-4.1]
    claude: [claude/claude-sonnet-4-5]
    local: [local/qwen]
    planner: [scripted/planner]
    coder: [scripted/coder]
  prices:
    oa/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    claude/claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 }
    local/qwen: { input_per_mtok: 0, output_per_mtok: 0 }
    scripted/planner: { input_per_mtok: 1, output_per_mtok: 1 }
    scripted/coder: { input_per_mtok: 1, output_per_mtok: 1 }
`;
}

const readFile = {
  type: 'function' as const,
  name: READ_FILE_TOOL.name,
  description: READ_FILE_TOOL.description,
  parameters: READ_FILE_TOOL.schema,
  strict: false,
};
const CALL_IDS: Record<string, string> = { gpt: 'call_up_1', claude: 'toolu_01Up', local: 'call_local_1' };

describe('the Responses API (POST /v1/responses) on every provider', () => {
  let upstreams: Record<'oa' | 'claude' | 'local', Upstream>;
  let gw: Gateway;
  let openai: OpenAI;

  beforeAll(async () => {
    upstreams = {
      oa: await startOpenAiUpstream(model(CALL_IDS.gpt!)),
      claude: await startAnthropicUpstream(model(CALL_IDS.claude!)),
      local: await startOpenAiCompatibleUpstream(model(CALL_IDS.local!)),
    };
    gw = await startGateway(llm(upstreams.oa.url, upstreams.claude.url, upstreams.local.url), { extraKeys: ['tools:tools-secret-0123456789abc'] });
    openai = gw.openai();
  });

  afterAll(async () => {
    await gw?.close();
    for (const u of Object.values(upstreams ?? {})) await u.close();
  });

  beforeEach(() => {
    for (const u of Object.values(upstreams)) u.requests.length = 0;
  });

  describe('official openai SDK: responses.create and responses.stream', () => {
    it.each(['gpt', 'claude', 'local'])('runs a tool round trip without streaming (%s)', async (alias) => {
      const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'What does greet.js do?' }];
      const first = await openai.responses.create({ model: alias, instructions: 'You read code.', input, tools: [readFile] });
      expect(first.object).toBe('response');
      expect(first.status).toBe('completed');
      expect(first.output).toEqual([
        {
          id: expect.stringMatching(/^fc_/),
          type: 'function_call',
          status: 'completed',
          call_id: CALL_IDS[alias],
          name: 'read_file',
          arguments: '{"path":"src/greet.js"}',
        },
      ]);
      expect(first.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number), input_tokens_details: { cached_tokens: 0 } });
      const second = await openai.responses.create({
        model: alias,
        instructions: 'You read code.',
        input: [
          ...input,
          ...(first.output as OpenAI.Responses.ResponseInputItem[]),
          { type: 'function_call_output', call_id: CALL_IDS[alias]!, output: 'export const greet = () => "hi"' },
        ],
        tools: [readFile],
      });
      expect(second.output_text).toBe('The file greets the world.');
      expect(second.output).toEqual([
        {
          id: expect.stringMatching(/^msg_/),
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'The file greets the world.', annotations: [], logprobs: [] }],
        },
      ]);
      expect(second.model).toMatch(new RegExp(`^${alias === 'gpt' ? 'oa' : alias}/`));
    });

    it('sends Anthropic the conversation as messages with tool_use and tool_result blocks', async () => {
      const first = await openai.responses.create({
        model: 'claude',
        instructions: 'You read code.',
        input: 'What does greet.js do?',
        tools: [readFile],
        max_output_tokens: 300,
      });
      await openai.responses.create({
        model: 'claude',
        instructions: 'You read code.',
        input: [
          { role: 'user', content: 'What does greet.js do?' },
          ...(first.output as OpenAI.Responses.ResponseInputItem[]),
          { type: 'function_call_output', call_id: 'toolu_01Up', output: 'code' },
        ],
        tools: [readFile],
        max_output_tokens: 300,
      });
      expect(upstreams.claude.requests[1]!.body).toMatchObject({
        system: 'You read code.',
        max_tokens: 300,
        messages: [
          { role: 'user', content: 'What does greet.js do?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01Up', name: 'read_file', input: { path: 'src/greet.js' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01Up', content: 'code' }] },
        ],
      });
    });

    it.each(['gpt', 'claude'])('streams events the SDK assembles into the final response (%s)', async (alias) => {
      const stream = openai.responses.stream({ model: alias, input: 'What does greet.js do?', tools: [readFile] });
      const types: string[] = [];
      stream.on('event', (e) => types.push(e.type));
      const call = await stream.finalResponse();
      expect(call.output).toEqual([
        expect.objectContaining({
          type: 'function_call',
          call_id: CALL_IDS[alias],
          name: 'read_file',
          arguments: '{"path":"src/greet.js"}',
          status: 'completed',
        }),
      ]);
      expect(types[0]).toBe('response.created');
      expect(types).toContain('response.function_call_arguments.delta');
      expect(types.at(-1)).toBe('response.completed');

      let deltas = '';
      const text = openai.responses.stream({ model: alias, input: 'Say hello.' }).on('response.output_text.delta', (e) => (deltas += e.delta));
      const final = await text.finalResponse();
      expect(final.output_text).toBe('The file greets the world.');
      expect(deltas).toBe('The file greets the world.');
      expect(final.usage?.output_tokens).toBeGreaterThan(0);
    });

    it('continues from previous_response_id, sending the vendor the whole conversation', async () => {
      const first = await openai.responses.create({ model: 'gpt', instructions: 'You read code.', input: 'What does greet.js do?', tools: [readFile] });
      const second = await openai.responses.create({
        model: 'gpt',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: 'call_up_1', output: 'code' }],
        tools: [readFile],
      });
      expect(second.output_text).toBe('The file greets the world.');
      expect(second.previous_response_id).toBe(first.id);
      // Instructions do not carry over, as OpenAI's do not.
      expect(upstreams.oa.requests[1]!.body.messages).toEqual([
        { role: 'user', content: 'What does greet.js do?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_up_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_up_1', content: 'code' },
      ]);
      expect((await openai.responses.retrieve(first.id)).output).toEqual(first.output);
      // Another key sees none of it.
      const stranger = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: 'tools-secret-0123456789abc', maxRetries: 0 });
      await expect(stranger.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.APIError);
    });

    it.each(['gpt', 'claude'])('gives structured output for a json_schema text format (%s)', async (alias) => {
      const schema = {
        type: 'object',
        properties: { name: { type: 'string' }, exported: { type: 'boolean' } },
        required: ['name', 'exported'],
        additionalProperties: false,
      };
      const answer = await openai.responses.create({
        model: alias,
        input: 'Describe greet.js',
        text: { format: { type: 'json_schema', name: 'module', schema, strict: true } },
      });
      expect(JSON.parse(answer.output_text)).toEqual({ name: 'greet', exported: true });
      expect(answer.text?.format).toMatchObject({ type: 'json_schema', name: 'module' });
      if (alias === 'gpt')
        expect(upstreams.oa.requests[0]!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'module', schema, strict: true } });
      else expect(String(upstreams.claude.requests[0]!.body.system)).toContain(JSON.stringify(schema));
    });

    it('answers from the scripted provider: text, and a tool call', async () => {
      const plan = await openai.responses.create({ model: 'planner', input: 'Plan it.' }, { headers: { 'x-agency-fr-id': 'FR-901' } });
      expect(plan.output_text).toBe('generic plan for FR-901');
      const code = await openai.responses.create({ model: 'coder', input: 'Code it.' }, { headers: { 'x-agency-fr-id': 'FR-901' } });
      expect(code.output[0]).toMatchObject({ type: 'function_call', name: 'read_file', arguments: '{"path":"docs/FR-901.md"}' });
    });

    it("refuses a bad request in OpenAI's format, naming the field", async () => {
      const bad = (await openai.responses
        .create({ model: 'gpt', input: [{ type: 'input_image', image_url: 'x' } as never] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      expect(bad.message).toContain("'input[0].type': only message, function_call, function_call_output, item_reference and reasoning items are supported");
      const lost = (await openai.responses.create({ model: 'gpt', input: 'x', previous_response_id: 'resp_nope' }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.APIError
      >;
      expect(lost.status).toBe(400);
      expect(lost.code).toBe('previous_response_not_found');
      const unknown = (await openai.responses.create({ model: 'nope', input: 'x' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    });

    it('ends a stream that breaks mid-answer with an error the SDK raises, never a completion', async () => {
      upstreams.oa.script = () => ({ kind: 'cut', afterEvents: 4, content: 'a long answer that will not arrive whole' });
      try {
        const stream = openai.responses.stream({ model: 'gpt', input: 'Say it all.' });
        await expect(stream.finalResponse()).rejects.toMatchObject({ error: { code: 'upstream_connection_lost' } });
      } finally {
        upstreams.oa.script = model(CALL_IDS.gpt!);
      }
    });
  });

  describe("Vercel AI SDK's default provider, openai(model)", () => {
    const provider = () => createOpenAI({ baseURL: `${gw.origin}/v1`, apiKey: GATEWAY_KEY });
    const readFileTool = tool({
      description: READ_FILE_TOOL.description,
      inputSchema: jsonSchema<{ path: string }>(READ_FILE_TOOL.schema as never),
      execute: async ({ path }) => `export const greet = () => "hi"; // ${path}`,
    });

    it.each(['gpt', 'claude', 'local'])('generateText runs a tool loop (%s)', async (alias) => {
      const result = await generateText({
        model: provider()(alias),
        system: 'You read code.',
        prompt: 'What does greet.js do?',
        tools: { read_file: readFileTool },
        stopWhen: stepCountIs(3),
      });
      expect(result.text).toBe('The file greets the world.');
      expect(result.steps).toHaveLength(2);
      expect(result.steps[0]!.toolCalls[0]).toMatchObject({ toolName: 'read_file', input: { path: 'src/greet.js' } });
      expect(result.totalUsage.inputTokens).toBeGreaterThan(0);
    });

    it.each(['gpt', 'claude'])('resolves the item_reference the SDK sends for earlier text, from the stored response (%s)', async (alias) => {
      const sent: string[] = [];
      const watched = createOpenAI({
        baseURL: `${gw.origin}/v1`,
        apiKey: GATEWAY_KEY,
        fetch: async (url, init) => (sent.push(String(init?.body)), fetch(url, init)),
      });
      const result = await generateText({
        model: watched(alias),
        prompt: 'What does greet.js do? think aloud',
        tools: { read_file: readFileTool },
        stopWhen: stepCountIs(3),
      });
      expect(JSON.parse(sent[1]!).input).toContainEqual({ type: 'item_reference', id: expect.stringMatching(/^msg_/) });
      expect(result.steps[0]!.text).toBe('Let me read it.');
      expect(result.text).toBe('The file greets the world.');
      const up = alias === 'gpt' ? upstreams.oa : upstreams.claude;
      const second = JSON.stringify(up.requests[1]!.body.messages);
      expect(second).toContain('Let me read it.');
    });

    it.each(['gpt', 'claude'])('streamText streams the same loop (%s)', async (alias) => {
      const result = streamText({ model: provider()(alias), prompt: 'What does greet.js do?', tools: { read_file: readFileTool }, stopWhen: stepCountIs(3) });
      let text = '';
      for await (const delta of result.textStream) text += delta;
      expect(text).toBe('The file greets the world.');
      expect(await result.finishReason).toBe('stop');
    });

    it.each(['gpt', 'claude'])('gives an object for Output.object (%s)', async (alias) => {
      const schema = jsonSchema<{ name: string; exported: boolean }>({
        type: 'object',
        properties: { name: { type: 'string' }, exported: { type: 'boolean' } },
        required: ['name', 'exported'],
        additionalProperties: false,
      });
      const result = await generateText({ model: provider()(alias), prompt: 'Describe greet.js', output: Output.object({ schema }) });
      expect(result.output).toEqual({ name: 'greet', exported: true });
    });
  });
});
