import type OpenAI from 'openai';
import { READ_FILE_TOOL, startGateway, type Gateway } from './gateway-harness.js';
import { OPENAI_UPSTREAM_KEY, startOpenAiCompatibleUpstream } from './upstreams/openai.upstream.js';
import type { Behaviour, ReceivedRequest, Upstream } from './upstreams/upstream-server.js';

const TOOL_CALL = { id: 'call_local_1', name: 'read_file', arguments: '{"path":"src/greet.js"}' };

/** A tool call first; text once the conversation holds the tool's result. */
function toolThenText(r: ReceivedRequest): Behaviour {
  return JSON.stringify(r.body.messages).includes('"role":"tool"')
    ? { kind: 'answer', content: 'greet.js exports greet().' }
    : { kind: 'answer', toolCalls: [TOOL_CALL] };
}

/**
 * The Ollama / vLLM / LM Studio path: `openai-compatible` providers found by base URL. `local` has
 * no key (a local server checks none), `unset` names a variable that is not set (an
 * openai-compatible provider then also goes without a key instead of refusing to start), `router`
 * has a key and extra headers, as OpenRouter wants. Model names keep their `:` and `/`.
 */
function llm(local: string, router: string): string {
  return `llm:
  providers:
    local: { type: openai-compatible, base_url: "${local}/v1" }
    unset: { type: openai-compatible, base_url: "${local}/v1", api_key_env: TEST_COMPAT_KEY_NEVER_SET }
    router: { type: openai-compatible, base_url: "${router}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY, headers: { HTTP-Referer: "https://agency.example", X-Title: agency } }
  models:
    coder: ["local/qwen2.5-coder:7b"]
    unset: [unset/llama3.1]
    routed: [router/meta-llama/llama-3.1-8b-instruct]
  prices:
    "local/qwen2.5-coder:7b": { input_per_mtok: 0, output_per_mtok: 0 }
    unset/llama3.1: { input_per_mtok: 0, output_per_mtok: 0 }
    router/meta-llama/llama-3.1-8b-instruct: { input_per_mtok: 0.02, output_per_mtok: 0.05 }
`;
}

describe('an openai-compatible provider (Ollama, vLLM) answers the official openai SDK through the gateway', () => {
  let local: Upstream;
  let router: Upstream;
  let gw: Gateway;
  let openai: OpenAI;

  beforeAll(async () => {
    delete process.env.TEST_COMPAT_KEY_NEVER_SET;
    local = await startOpenAiCompatibleUpstream(toolThenText);
    router = await startOpenAiCompatibleUpstream(() => ({ kind: 'answer', content: 'routed' }), OPENAI_UPSTREAM_KEY);
    gw = await startGateway(llm(local.url, router.url));
    openai = gw.openai();
  });

  afterAll(async () => {
    await gw?.close();
    await local?.close();
    await router?.close();
  });

  beforeEach(() => {
    local.requests.length = 0;
    router.requests.length = 0;
  });

  const tools: OpenAI.ChatCompletionTool[] = [
    { type: 'function', function: { name: READ_FILE_TOOL.name, description: READ_FILE_TOOL.description, parameters: READ_FILE_TOOL.schema } },
  ];

  it('runs a tool-call round trip without streaming: max_tokens as max_tokens, the model by its own name, no Authorization', async () => {
    const first = await openai.chat.completions.create({
      model: 'coder',
      messages: [{ role: 'user', content: 'What does greet.js do?' }],
      tools,
      max_completion_tokens: 300,
    });
    expect(first.id).toBe('chatcmpl-upstream0001');
    expect(first.model).toBe('local/qwen2.5-coder:7b');
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(first.choices[0]!.message.tool_calls).toEqual([
      { id: 'call_local_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } },
    ]);
    expect(first.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });

    expect(local.requests).toHaveLength(1);
    const sent = local.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    // Older compatible servers know only max_tokens: the client's max_completion_tokens becomes it.
    expect(sent.body).toEqual({
      model: 'qwen2.5-coder:7b',
      messages: [{ role: 'user', content: 'What does greet.js do?' }],
      max_tokens: 300,
      tools: [{ type: 'function', function: { name: 'read_file', description: 'Reads a file of the repository', parameters: READ_FILE_TOOL.schema } }],
      // Asked as JSON: 300 tokens come whole within the first-byte timeout (stream_upstream: auto).
    });
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.headers['content-type']).toBe('application/json');

    const second = await openai.chat.completions.create({
      model: 'coder',
      messages: [
        { role: 'user', content: 'What does greet.js do?' },
        first.choices[0]!.message,
        { role: 'tool', tool_call_id: 'call_local_1', content: 'export const greet = () => "hi"' },
      ],
      tools,
      max_tokens: 100,
    });
    expect(second.choices[0]!.message.content).toBe('greet.js exports greet().');
    expect(second.choices[0]!.finish_reason).toBe('stop');
    expect(local.requests[1]!.body).toMatchObject({
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'What does greet.js do?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_local_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_local_1', content: 'export const greet = () => "hi"' },
      ],
    });
    expect(local.requests[1]!.body.max_completion_tokens).toBeUndefined();
  });

  it('streams a tool call as chunks the SDK assembles, asking the server for usage', async () => {
    const stream = openai.chat.completions.stream({
      model: 'coder',
      messages: [{ role: 'user', content: 'Read greet.js' }],
      tools,
      max_tokens: 64,
      stream_options: { include_usage: true },
    });
    const chunks: string[] = [];
    stream.on('chunk', (c) => chunks.push(c.id));
    const final = await stream.finalChatCompletion();
    expect(final.model).toBe('local/qwen2.5-coder:7b');
    expect(final.choices[0]!.message.tool_calls).toEqual([
      { id: 'call_local_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/greet.js"}' } },
    ]);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7 });
    // The arguments arrived in pieces (8 characters per upstream chunk), each passed on.
    expect(chunks.length).toBeGreaterThan(4);
    expect(new Set(chunks)).toEqual(new Set(['chatcmpl-upstream0001']));

    const sent = local.requests[0]!;
    expect(sent.body).toMatchObject({ model: 'qwen2.5-coder:7b', max_tokens: 64, stream: true, stream_options: { include_usage: true } });
    expect(sent.body.max_completion_tokens).toBeUndefined();
    expect(sent.headers.authorization).toBeUndefined();
  });

  it('sends no key when api_key_env names a variable that is not set', async () => {
    const answer = await openai.chat.completions.create({ model: 'unset', messages: [{ role: 'user', content: 'Read greet.js' }] });
    expect(answer.model).toBe('unset/llama3.1');
    expect(local.requests[0]!.body.model).toBe('llama3.1');
    expect(local.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('sends the key and the configured headers to a server that wants them, with a model name holding slashes', async () => {
    const answer = await openai.chat.completions.create({ model: 'routed', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of answer) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('routed');
    const sent = router.requests[0]!;
    expect(sent.body.model).toBe('meta-llama/llama-3.1-8b-instruct');
    expect(sent.headers.authorization).toBe(`Bearer ${OPENAI_UPSTREAM_KEY}`);
    expect(sent.headers['http-referer']).toBe('https://agency.example');
    expect(sent.headers['x-title']).toBe('agency');
  });
});
