import { FakeSse, SAMPLE_OUTCOME } from '../../../test/fakes/sse.fake.js';
import { ApiError } from '../api-error.js';
import type { SseWriter } from '../sse.writer.js';
import type { ResponsesEcho } from './responses-request.parser.js';
import { answerMessage, ResponsesStreamWriter, storedItems, toResponse } from './responses-response.mapper.js';

const ECHO: ResponsesEcho = {
  instructions: 'You code.',
  maxOutputTokens: null,
  metadata: {},
  parallelToolCalls: true,
  previousResponseId: null,
  temperature: 1,
  topP: 1,
  toolChoice: 'auto',
  tools: [],
  text: { format: { type: 'text' } },
  store: true,
};

const OUTCOME = SAMPLE_OUTCOME;

describe('Responses API answers', () => {
  it('maps a whole answer to a Response: a message item, then a function_call item per tool call', () => {
    const r = toResponse(OUTCOME, ECHO);
    expect(r).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      created_at: 7,
      status: 'completed',
      model: 'oa/gpt-4.1',
      instructions: 'You code.',
      error: null,
      incomplete_details: null,
    });
    expect(r.output).toEqual([
      {
        id: 'msg_abc',
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Reading.', annotations: [], logprobs: [] }],
      },
      { id: 'fc_abc_0', type: 'function_call', status: 'completed', call_id: 'call_1', name: 'read', arguments: '{"path":"a"}' },
    ]);
    expect(r.usage).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 105,
    });
    expect(answerMessage(r)).toEqual({ role: 'assistant', content: 'Reading.', toolCalls: [{ id: 'call_1', name: 'read', arguments: '{"path":"a"}' }] });
    expect([...storedItems(r).keys()]).toEqual(['msg_abc', 'fc_abc_0']);
    const cut = toResponse({ ...OUTCOME, response: { ...OUTCOME.response, toolCalls: [], finishReason: 'length' } }, ECHO);
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
  });

  it('streams items with numbered events and ends with the whole Response', () => {
    const sse = new FakeSse();
    const writer = new ResponsesStreamWriter(sse as unknown as SseWriter, ECHO);
    writer.start(OUTCOME);
    writer.piece({ kind: 'text', text: 'Read' });
    writer.piece({ kind: 'text', text: 'ing.' });
    writer.piece({ kind: 'tool-call-start', index: 0, id: 'call_1', name: 'read' });
    writer.piece({ kind: 'tool-call-args', index: 0, arguments: '{"path":' });
    writer.piece({ kind: 'tool-call-args', index: 0, arguments: '"a"}' });
    const final = writer.finish(OUTCOME);
    expect(sse.events.map(([name]) => name)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(sse.events.map(([, e]) => e.sequence_number)).toEqual([...Array(15).keys()]);
    expect(sse.events[9]![1]).toMatchObject({
      output_index: 1,
      item: { id: 'fc_abc_0', type: 'function_call', status: 'in_progress', call_id: 'call_1', arguments: '' },
    });
    expect(final.output).toEqual(toResponse(OUTCOME, ECHO).output);
    expect(sse.events[14]![1]).toMatchObject({ response: { status: 'completed', usage: { total_tokens: 105 } } });
  });

  it('ends a failed stream with an error event carrying the error both ways', () => {
    const sse = new FakeSse();
    const writer = new ResponsesStreamWriter(sse as unknown as SseWriter, ECHO);
    writer.start(OUTCOME);
    writer.fail(new ApiError(502, 'provider "oa" closed the connection', 'server_error', 'upstream_connection_lost'));
    expect(sse.events.at(-1)).toEqual([
      'error',
      {
        type: 'error',
        sequence_number: 2,
        code: 'upstream_connection_lost',
        message: 'provider "oa" closed the connection',
        param: null,
        error: { type: 'server_error', code: 'upstream_connection_lost', message: 'provider "oa" closed the connection', param: null },
      },
    ]);
  });
});
