import type { ChatOutcome } from '../../chat/chat.service.js';
import { FakeSse, SAMPLE_OUTCOME } from '../../../test/fakes/sse.fake.js';
import { ApiError } from '../api-error.js';
import type { SseWriter } from '../sse.writer.js';
import { AnthropicStreamWriter, anthropicUsageOf, toMessage } from './anthropic-response.mapper.js';

const OUTCOME: ChatOutcome = { ...SAMPLE_OUTCOME, created: 1 };

describe('Anthropic responses', () => {
  it('maps a whole answer to a Message, cache tokens apart from input_tokens', () => {
    expect(toMessage(OUTCOME)).toEqual({
      id: 'msg_abc',
      type: 'message',
      role: 'assistant',
      model: 'oa/gpt-4.1',
      content: [
        { type: 'text', text: 'Reading.', citations: null },
        { type: 'tool_use', id: 'call_1', name: 'read', input: { path: 'a' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 30, output_tokens: 5, cache_creation_input_tokens: 10, cache_read_input_tokens: 60 },
    });
    expect(toMessage({ ...OUTCOME, upstreamId: 'msg_vendor' }).id).toBe('msg_vendor');
    expect(anthropicUsageOf({ inputTokens: 3, cachedInputTokens: 0, outputTokens: 1 })).toEqual({
      input_tokens: 3,
      output_tokens: 1,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it('writes the event sequence the SDK expects, one block per text run and tool call', () => {
    const sse = new FakeSse();
    const w = new AnthropicStreamWriter(sse as unknown as SseWriter);
    w.start(OUTCOME, { inputTokens: 100, cachedInputTokens: 60, outputTokens: 0 });
    w.piece({ kind: 'text', text: 'Read' });
    w.piece({ kind: 'text', text: 'ing.' });
    w.piece({ kind: 'text', text: ' "quoted"\n✓ 😀\u2028' });
    w.piece({ kind: 'tool-call-start', index: 0, id: 'call_1', name: 'read' });
    w.piece({ kind: 'tool-call-args', index: 0, arguments: '{"path":' });
    w.piece({ kind: 'tool-call-args', index: 0, arguments: '"a"}' });
    w.finish(OUTCOME);
    expect(sse.events.map(([name, e]) => `${name} ${e.index ?? ''}`.trim())).toEqual([
      'message_start',
      'ping',
      'content_block_start 0',
      'content_block_delta 0',
      'content_block_delta 0',
      'content_block_delta 0',
      'content_block_stop 0',
      'content_block_start 1',
      'content_block_delta 1',
      'content_block_delta 1',
      'content_block_stop 1',
      'message_delta',
      'message_stop',
    ]);
    expect(sse.events[0]![1]).toMatchObject({ message: { id: 'msg_abc', usage: { input_tokens: 40, cache_read_input_tokens: 60, output_tokens: 0 } } });
    expect(sse.events[5]![1]).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' "quoted"\n✓ 😀\u2028' } });
    expect(sse.events[7]![1]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'read', input: {} } });
    expect(sse.events[11]![1]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 30, output_tokens: 5, cache_creation_input_tokens: 10, cache_read_input_tokens: 60 },
    });
    expect(sse.ended).toBe(true);
  });

  it('ends a failed stream with an error event and no message_stop', () => {
    const sse = new FakeSse();
    const w = new AnthropicStreamWriter(sse as unknown as SseWriter);
    w.start(OUTCOME, undefined);
    w.piece({ kind: 'text', text: 'Rea' });
    w.fail(new ApiError(502, 'provider "oa": closed the connection', 'server_error', 'upstream_connection_lost'));
    expect(sse.events.at(-1)).toEqual(['error', { type: 'error', error: { type: 'api_error', message: 'provider "oa": closed the connection' } }]);
    expect(sse.events.map(([n]) => n)).not.toContain('message_stop');
  });
});
