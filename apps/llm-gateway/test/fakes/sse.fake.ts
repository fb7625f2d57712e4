import type { ChatOutcome } from '../../src/chat/chat.service.js';

/** An answer with text and a tool call, cache reads and writes in its usage: what the response mappers are tried on. */
export const SAMPLE_OUTCOME: ChatOutcome = {
  localId: 'abc',
  created: 7,
  ref: 'oa/gpt-4.1',
  alias: 'coder',
  costUsd: 0,
  response: {
    model: 'gpt-4.1',
    content: 'Reading.',
    toolCalls: [{ id: 'call_1', name: 'read', arguments: '{"path":"a"}' }],
    finishReason: 'tool_calls',
    usage: { inputTokens: 100, cachedInputTokens: 60, cacheWriteInputTokens: 10, outputTokens: 5 },
  },
};

/** Records the events an SseWriter would write. */
export class FakeSse {
  events: Array<[string, Record<string, unknown>]> = [];
  ended = false;
  event(name: string, value: object): void {
    this.events.push([name, value as Record<string, unknown>]);
  }
  /** An event written out ahead: recorded like one given as an object, after checking it is byte for byte what event() would write. */
  raw(text: string): void {
    const m = /^event: (\S+)\ndata: (.*)\n\n$/s.exec(text);
    if (!m) throw new Error(`not one server-sent event: ${JSON.stringify(text)}`);
    const value = JSON.parse(m[2]!) as Record<string, unknown>;
    if (text !== `event: ${m[1]}\ndata: ${JSON.stringify(value)}\n\n`) throw new Error(`written otherwise than JSON.stringify would: ${text}`);
    this.events.push([m[1]!, value]);
  }
  end(): void {
    this.ended = true;
  }
}
