import type { CompletionMeta } from '../../chat/chat.service.js';
import { pieceChunk, textPieceEvents } from './openai-response.mapper.js';

describe('textPieceEvents', () => {
  const metas: CompletionMeta[] = [
    { localId: 'f171c24d44a6436ca08c62777ca1e28e', created: 1796417129, ref: 'mock/bench-model' },
    { upstreamId: 'chatcmpl-"quoted"\\', localId: 'x', created: 0, ref: 'odd "provider"/model\u2028' },
  ];
  const texts = ['hello', '', 'say "hi"\n\ttab \\ back', 'héllo wörld ✓ 😀', '\u0000\u001f\u2028</script>', ' '.repeat(3)];

  it('writes each text piece exactly as the chunk object would be written', () => {
    for (const meta of metas) {
      const event = textPieceEvents(meta);
      for (const text of texts) expect(event(text)).toBe(`data: ${JSON.stringify(pieceChunk(meta, { kind: 'text', text }))}\n\n`);
    }
  });
});
