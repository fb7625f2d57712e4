import { SseDecoder } from './sse.decoder.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('SseDecoder', () => {
  it('reads data-only events (OpenAI) and named events (Anthropic)', () => {
    const d = new SseDecoder();
    expect(d.push(bytes('data: {"a":1}\n\ndata: [DONE]\n\n'))).toEqual([{ data: '{"a":1}' }, { data: '[DONE]' }]);
    expect(d.push(bytes('event: ping\ndata: {"type":"ping"}\n\n'))).toEqual([{ event: 'ping', data: '{"type":"ping"}' }]);
  });

  it('joins data lines, ignores comments and unknown fields, accepts CRLF and CR', () => {
    const d = new SseDecoder();
    expect(d.push(bytes(': keep-alive\r\nid: 7\r\ndata: one\r\ndata:two\r\n\r\ndata: three\r\rretry: 10\n\n'))).toEqual([
      { data: 'one\ntwo' },
      { data: 'three' },
    ]);
  });

  it('finds every line end when LF, CR and CRLF alternate in one chunk', () => {
    const d = new SseDecoder();
    expect(d.push(bytes('data: one\ndata: two\rdata: three\r\ndata: four\n\rdata: five\n\r\n\n'))).toEqual([
      { data: 'one\ntwo\nthree\nfour' },
      { data: 'five' },
    ]);
  });

  it('reassembles events split anywhere, even inside a UTF-8 character or a CRLF', () => {
    const text = 'event: content_block_delta\r\ndata: {"text":"héllo 🎉"}\r\n\r\n';
    const all = bytes(text);
    for (let cut = 1; cut < all.length; cut += 1) {
      const d = new SseDecoder();
      const events = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut)), ...d.end()];
      expect(events, `cut at ${cut}`).toEqual([{ event: 'content_block_delta', data: '{"text":"héllo 🎉"}' }]);
    }
  });

  it('drops an event whose closing blank line never came', () => {
    const d = new SseDecoder();
    expect(d.push(bytes('data: complete\n\ndata: cut off'))).toEqual([{ data: 'complete' }]);
    expect(d.end()).toEqual([]);
  });
});
