import { anthropicCacheUsage } from './prompt-cache.js';
import { pieces, startUpstream, type Answer, type Script, type Upstream, type UpstreamOptions, type WireWriter } from './upstream-server.js';

export const ANTHROPIC_UPSTREAM_KEY = 'sk-ant-upstream-0123456789';

const ID = 'msg_01UpstreamAnswer';

function stopReason(a: Answer): string {
  return a.finish === 'length' ? 'max_tokens' : a.toolCalls?.length ? 'tool_use' : 'end_turn';
}

function usage(a: Answer) {
  return {
    input_tokens: a.inputTokens ?? 21,
    cache_creation_input_tokens: a.cacheWriteTokens ?? 0,
    cache_read_input_tokens: a.cachedTokens ?? 0,
    output_tokens: a.outputTokens ?? 9,
    service_tier: 'standard',
  };
}

const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

/** Anthropic's Messages API wire format, as api.anthropic.com writes it. */
export const anthropicWire: WireWriter = {
  body(a, req) {
    const content: object[] = [];
    if (a.content) content.push({ type: 'text', text: a.content });
    for (const c of a.toolCalls ?? []) content.push({ type: 'tool_use', id: c.id, name: c.name, input: JSON.parse(c.arguments) });
    return JSON.stringify({
      id: ID,
      type: 'message',
      role: 'assistant',
      model: String(req.body.model),
      content,
      stop_reason: stopReason(a),
      stop_sequence: null,
      usage: usage(a),
    });
  },

  events(a, req) {
    const u = usage(a);
    const out = [
      event('message_start', {
        type: 'message_start',
        message: {
          id: ID,
          type: 'message',
          role: 'assistant',
          model: String(req.body.model),
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...u, output_tokens: 1 },
        },
      }),
    ];
    let index = 0;
    if (a.content) {
      out.push(event('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
      out.push(event('ping', { type: 'ping' }));
      for (const p of pieces(a.content)) out.push(event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } }));
      out.push(event('content_block_stop', { type: 'content_block_stop', index }));
      index += 1;
    }
    for (const c of a.toolCalls ?? []) {
      out.push(event('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }));
      out.push(event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } }));
      for (const p of pieces(c.arguments, 8))
        out.push(event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } }));
      out.push(event('content_block_stop', { type: 'content_block_stop', index }));
      index += 1;
    }
    out.push(
      event('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason(a), stop_sequence: null }, usage: { output_tokens: u.output_tokens } }),
    );
    out.push(event('message_stop', { type: 'message_stop' }));
    return out;
  },

  error(status, message) {
    const type =
      status === 429
        ? 'rate_limit_error'
        : status === 529
          ? 'overloaded_error'
          : status >= 500
            ? 'api_error'
            : status === 401
              ? 'authentication_error'
              : 'invalid_request_error';
    return JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_test' });
  },

  validate(req) {
    if (req.path !== '/v1/messages') return `Not found: ${req.path}`;
    if (req.headers['x-api-key'] !== ANTHROPIC_UPSTREAM_KEY) return 'invalid x-api-key';
    if (!req.headers['anthropic-version']) return 'anthropic-version: header is required';
    const b = req.body;
    if (typeof b.model !== 'string') return 'model: Field required';
    if (typeof b.max_tokens !== 'number') return 'max_tokens: Field required';
    if (b.temperature !== undefined && (typeof b.temperature !== 'number' || b.temperature > 1)) return 'temperature: Input should be less than or equal to 1';
    if (!Array.isArray(b.messages) || b.messages.length === 0) return 'messages: Field required';
    const messages = b.messages as Array<{ role: string; content: unknown }>;
    if (messages[0]!.role !== 'user') return 'messages: first message must use the "user" role';
    const toolUses = new Set<string>();
    for (const [i, m] of messages.entries()) {
      if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
      if (i > 0 && messages[i - 1]!.role === m.role) return `messages: roles must alternate between "user" and "assistant"`;
      if (typeof m.content === 'string') continue;
      if (!Array.isArray(m.content)) return `messages.${i}.content: Input should be a valid list`;
      for (const [j, block] of (m.content as Array<Record<string, unknown>>).entries()) {
        if (block.type === 'text' && (typeof block.text !== 'string' || block.text === ''))
          return `messages.${i}.content.${j}.text: text content blocks must be non-empty`;
        if (block.type === 'tool_use') {
          if (m.role !== 'assistant') return `messages.${i}.content.${j}: tool_use blocks are only allowed in assistant messages`;
          if (typeof block.input !== 'object' || block.input === null) return `messages.${i}.content.${j}.input: Input should be a valid dictionary`;
          toolUses.add(String(block.id));
        }
        if (block.type === 'tool_result' && !toolUses.has(String(block.tool_use_id)))
          return `messages.${i}.content.${j}: unexpected tool_use_id found in tool_result blocks: ${String(block.tool_use_id)}`;
      }
    }
    for (const t of (b.tools as Array<Record<string, unknown>> | undefined) ?? [])
      if (typeof t.input_schema !== 'object') return 'tools.0.input_schema: Field required';
    return undefined;
  },

  route(req) {
    if (req.path !== '/v1/messages/count_tokens') return undefined;
    if (req.headers['x-api-key'] !== ANTHROPIC_UPSTREAM_KEY) return { status: 401, body: anthropicWire.error(401, 'invalid x-api-key') };
    if (req.body.max_tokens !== undefined) return { status: 400, body: anthropicWire.error(400, 'max_tokens: Extra inputs are not permitted') };
    // Counted as the prompt cache counts it: about 4 characters a token over tools, system and messages.
    return { status: 200, body: JSON.stringify({ input_tokens: anthropicCacheUsage(req.body, new Map()).totalTokens }) };
  },

  promptCache(req, store) {
    const u = anthropicCacheUsage(req.body, store);
    return { inputTokens: u.totalTokens - u.readTokens - u.writeTokens, cachedTokens: u.readTokens, cacheWriteTokens: u.writeTokens };
  },
};

export function startAnthropicUpstream(script: Script, options?: UpstreamOptions): Promise<Upstream> {
  return startUpstream(anthropicWire, script, options);
}
