import { parseOpenAiEmbeddings } from '../../providers/wire/openai.wire.js';
import { ApiError } from '../api-error.js';
import { parseEmbeddingsRequest, toEmbeddings } from './embeddings.handler.js';

function rejection(body: unknown): string {
  try {
    parseEmbeddingsRequest(body);
  } catch (e) {
    if (e instanceof ApiError) return `${e.getStatus()} ${e.message}`;
    throw e;
  }
  throw new Error('expected a 400');
}

describe('embeddings', () => {
  it('reads every form of input', () => {
    expect(parseEmbeddingsRequest({ model: 'e', input: 'one' })).toEqual({ alias: 'e', input: ['one'], base64: false });
    expect(parseEmbeddingsRequest({ model: 'e', input: ['a', 'b'], encoding_format: 'base64', dimensions: 8 })).toEqual({
      alias: 'e',
      input: ['a', 'b'],
      base64: true,
      dimensions: 8,
    });
    expect(parseEmbeddingsRequest({ model: 'e', input: [1, 2, 3] }).input).toEqual([[1, 2, 3]]);
    expect(parseEmbeddingsRequest({ model: 'e', input: [[1], [2, 3]] }).input).toEqual([[1], [2, 3]]);
  });

  it.each([
    [{ input: 'x' }, "400 'model': must be a string, got nothing"],
    [{ model: 'e' }, "400 'input': is required"],
    [{ model: 'e', input: ['a', 3] }, "400 'input[1]': must be a string, got a number"],
    [{ model: 'e', input: [[1], [-1]] }, "400 'input[1]': must be a non-empty list of token ids (whole numbers)"],
    [{ model: 'e', input: 'x', encoding_format: 'int8' }, `400 'encoding_format': must be "float" or "base64", got "int8"`],
  ])('refuses %j', (body, message) => {
    expect(rejection(body)).toBe(message);
  });

  it('reads float and base64 vectors from a vendor, in index order, and writes either back', () => {
    const call = { alias: 'e', model: 'm', input: ['a', 'b'], context: {} };
    const b64 = Buffer.from(new Float32Array([0.5, -0.25]).buffer).toString('base64');
    const answer = parseOpenAiEmbeddings(
      Buffer.from(
        JSON.stringify({
          data: [
            { index: 1, embedding: b64 },
            { index: 0, embedding: [1, 2] },
          ],
          usage: { prompt_tokens: 4 },
        }),
      ),
      call,
    );
    expect(answer).toEqual({
      model: 'm',
      vectors: [
        [1, 2],
        [0.5, -0.25],
      ],
      usage: { inputTokens: 4, cachedInputTokens: 0, outputTokens: 0 },
    });
    expect(() => parseOpenAiEmbeddings(Buffer.from(JSON.stringify({ data: [{ index: 0, embedding: [1] }] })), call)).toThrow(
      'the embeddings answer has 1 vectors for 2 inputs',
    );
    const outcome = {
      localId: 'x',
      created: 0,
      ref: 'oa/m',
      alias: 'e',
      costUsd: 0,
      response: { model: 'm', content: null, toolCalls: [], finishReason: 'stop' as const, usage: answer.usage },
      vectors: answer.vectors,
    };
    expect(toEmbeddings(outcome, true)).toMatchObject({ data: [{ index: 0 }, { index: 1, embedding: b64 }], usage: { prompt_tokens: 4, total_tokens: 4 } });
  });
});
