import { Injectable } from '@nestjs/common';
import { authenticate } from '../../auth/api-key.guard.js';
import { KeyRing } from '../../auth/key-ring.js';
import { ChatService, type EmbedInput, type EmbedOutcome } from '../../chat/chat.service.js';
import { childPath, isRecord, kindOf } from '../../common/shape.js';
import { ApiError } from '../api-error.js';
import { chatCallFrom } from '../chat-call.js';
import { sendJson, type Exchange } from '../raw-exchange.js';
import { fail, num, str } from './openai-params.js';

/** OpenAI's limit on inputs per request. */
const MAX_INPUTS = 2048;

export interface ParsedEmbeddingsRequest extends EmbedInput {
  alias: string;
  base64: boolean;
}

function tokens(value: unknown, param: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((t) => Number.isInteger(t) && (t as number) >= 0))
    fail(param, 'must be a non-empty list of token ids (whole numbers)');
  return value as number[];
}

/** The input as a list: a string, a list of strings, a token array or a list of token arrays. */
function inputOf(value: unknown): string[] | number[][] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.length === 0)
    fail(
      'input',
      value === undefined
        ? 'is required'
        : `must be a string, a list of strings or token arrays, got ${Array.isArray(value) ? 'an empty list' : kindOf(value)}`,
    );
  if (value.length > MAX_INPUTS) fail('input', `may hold at most ${MAX_INPUTS} inputs, got ${value.length}`);
  if (typeof value[0] === 'number') return [tokens(value, 'input')];
  if (Array.isArray(value[0])) return value.map((v, i) => tokens(v, childPath('input', i)));
  return value.map((v, i) => str(v, childPath('input', i)));
}

export function parseEmbeddingsRequest(body: unknown): ParsedEmbeddingsRequest {
  if (!isRecord(body)) throw ApiError.invalidRequest(`the request body must be a JSON object, got ${kindOf(body)}`);
  const alias = str(body.model, 'model');
  const input = inputOf(body.input);
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') fail('encoding_format', `must be "float" or "base64", got ${JSON.stringify(format)}`);
  return {
    alias,
    input,
    base64: format === 'base64',
    ...(body.dimensions != null ? { dimensions: num(body.dimensions, 'dimensions', 1, 100_000, true) } : {}),
  };
}

/** A vector as OpenAI's base64: its float32 values, little-endian. */
function base64Of(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

export function toEmbeddings(o: EmbedOutcome, base64: boolean): object {
  return {
    object: 'list',
    data: o.vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? base64Of(v) : v })),
    model: o.ref,
    usage: { prompt_tokens: o.response.usage.inputTokens, total_tokens: o.response.usage.inputTokens },
  };
}

/**
 * OpenAI's `POST /v1/embeddings`, for aliases whose providers have embeddings (OpenAI and
 * compatible servers; Anthropic has none). Float vectors, or base64 as the openai SDK asks by
 * default. Billed, budgeted and counted like a chat call (input tokens only).
 */
@Injectable()
export class EmbeddingsHandler {
  constructor(
    private readonly chat: ChatService,
    private readonly keys: KeyRing,
  ) {}

  async handle({ headers, body, res }: Exchange): Promise<void> {
    const caller = authenticate(headers, this.keys);
    const parsed = parseEmbeddingsRequest(body);
    // The texts stand for the prompt in estimates (rate limits) and in logged prompts.
    const messages = parsed.input.map((x) => ({ role: 'user' as const, content: typeof x === 'string' ? x : '' }));
    const call = chatCallFrom(headers, res, caller, parsed.alias, { messages });
    const outcome = await this.chat.embed(call, { input: parsed.input, ...(parsed.dimensions !== undefined ? { dimensions: parsed.dimensions } : {}) });
    sendJson(res, 200, toEmbeddings(outcome, parsed.base64));
  }
}
