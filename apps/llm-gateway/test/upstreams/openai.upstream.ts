import { createHash } from 'node:crypto';
import { openAiCacheUsage } from './prompt-cache.js';
import {
  pieces,
  startUpstream,
  type Answer,
  type ReceivedRequest,
  type Script,
  type Upstream,
  type UpstreamOptions,
  type WireWriter,
} from './upstream-server.js';

export const OPENAI_UPSTREAM_KEY = 'sk-upstream-openai-0123456789';

const ID = 'chatcmpl-upstream0001';
const CREATED = 1_764_000_000;

function usage(a: Answer) {
  return {
    prompt_tokens: a.inputTokens ?? 11,
    completion_tokens: a.outputTokens ?? 7,
    total_tokens: (a.inputTokens ?? 11) + (a.outputTokens ?? 7),
    prompt_tokens_details: { cached_tokens: a.cachedTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function finish(a: Answer): string {
  return a.finish ?? (a.toolCalls?.length ? 'tool_calls' : 'stop');
}

/** OpenAI's chat completions wire format, as api.openai.com writes it. */
export const openAiWire: WireWriter = {
  body(a, req) {
    const message = {
      role: 'assistant',
      content: a.content ?? null,
      refusal: null,
      annotations: [],
      ...(a.toolCalls?.length
        ? { tool_calls: a.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
        : {}),
    };
    return JSON.stringify({
      id: ID,
      object: 'chat.completion',
      created: CREATED,
      model: String(req.body.model),
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish(a) }],
      usage: usage(a),
      service_tier: 'default',
      system_fingerprint: 'fp_test',
    });
  },

  events(a, req) {
    const base = {
      id: ID,
      object: 'chat.completion.chunk',
      created: CREATED,
      model: String(req.body.model),
      service_tier: 'default',
      system_fingerprint: 'fp_test',
    };
    const chunk = (delta: object, finishReason: string | null = null) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] })}\n\n`;
    const out = [chunk({ role: 'assistant', content: '', refusal: null })];
    for (const p of pieces(a.content ?? '')) out.push(chunk({ content: p }));
    (a.toolCalls ?? []).forEach((c, index) => {
      out.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
      for (const p of pieces(c.arguments, 8)) out.push(chunk({ tool_calls: [{ index, function: { arguments: p } }] }));
    });
    out.push(chunk({}, finish(a)));
    const options = req.body.stream_options as { include_usage?: boolean } | undefined;
    if (options?.include_usage) out.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usage(a) })}\n\n`);
    out.push('data: [DONE]\n\n');
    return out;
  },

  error(status, message) {
    const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return JSON.stringify({ error: { message, type, param: null, code: status === 429 ? 'rate_limit_exceeded' : null } });
  },

  validate: (req) => validateOpenAi(req, OPENAI_UPSTREAM_KEY),

  route: (req) => embeddings(req, OPENAI_UPSTREAM_KEY),

  promptCache(req, store) {
    const u = openAiCacheUsage(req.body, store);
    return { inputTokens: u.totalTokens, cachedTokens: u.readTokens };
  },
};

/** A deterministic 8-number vector for a text: the same text always gets the same vector. */
export function fakeVector(text: string): number[] {
  const digest = createHash('sha256').update(text).digest();
  return [...digest.subarray(0, 8)].map((b) => Math.round((b / 255 - 0.5) * 1e4) / 1e4);
}

/** OpenAI's POST /v1/embeddings, as api.openai.com answers it (floats, or base64 float32). */
function embeddings(req: ReceivedRequest, apiKey: string | undefined): { status: number; body: string } | undefined {
  if (req.path !== '/v1/embeddings') return undefined;
  const error = (message: string) => ({ status: 400, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } }) });
  if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`)
    return {
      status: 401,
      body: JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }),
    };
  const input = typeof req.body.input === 'string' ? [req.body.input] : (req.body.input as unknown[]);
  if (!Array.isArray(input) || input.length === 0) return error("'input' : input must be a string or a list");
  const texts = input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  const base64 = req.body.encoding_format === 'base64';
  const data = texts.map((t, index) => {
    const v = fakeVector(t).slice(0, typeof req.body.dimensions === 'number' ? req.body.dimensions : 8);
    return { object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v };
  });
  const tokens = texts.reduce((sum, t) => sum + Math.ceil(t.length / 4), 0);
  return { status: 200, body: JSON.stringify({ object: 'list', data, model: String(req.body.model), usage: { prompt_tokens: tokens, total_tokens: tokens } }) };
}

/** Checks a request like api.openai.com does; `apiKey` undefined: no key is checked (Ollama ignores Authorization). */
function validateOpenAi(req: ReceivedRequest, apiKey: string | undefined): string | undefined {
  if (req.path !== '/v1/chat/completions') return `Invalid URL (POST ${req.path})`;
  if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`) return 'Incorrect API key provided';
  if (typeof req.body.model !== 'string') return "Missing required parameter: 'model'.";
  if (!Array.isArray(req.body.messages) || req.body.messages.length === 0) return "Missing required parameter: 'messages'.";
  // Every tool message answers a tool call of an earlier assistant message.
  const callIds = new Set<string>();
  for (const [i, m] of (req.body.messages as Array<Record<string, unknown>>).entries()) {
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(String(m.role))) return `Invalid value for 'messages[${i}].role'`;
    for (const c of (m.tool_calls as Array<{ id: string }> | undefined) ?? []) callIds.add(c.id);
    if (m.role === 'tool' && !callIds.has(String(m.tool_call_id)))
      return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`;
  }
  if (req.body.max_tokens !== undefined && req.body.max_completion_tokens !== undefined) return 'max_tokens and max_completion_tokens cannot both be set';
  return undefined;
}

export function startOpenAiUpstream(script: Script, options?: UpstreamOptions): Promise<Upstream> {
  return startUpstream(openAiWire, script, options);
}

/**
 * An OpenAI-compatible server (Ollama, vLLM, LM Studio): OpenAI's wire format at `/v1`; without
 * `apiKey` it checks no key, as Ollama and a vLLM started without --api-key do.
 */
export function startOpenAiCompatibleUpstream(script: Script, apiKey?: string): Promise<Upstream> {
  return startUpstream({ ...openAiWire, validate: (req) => validateOpenAi(req, apiKey), route: (req) => embeddings(req, apiKey) }, script);
}

export type { ReceivedRequest };
