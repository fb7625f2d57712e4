import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { socketWrites } from '../common/socket-writes.js';
import { ApiError } from './api-error.js';

/** One HTTP request on a chat route, as the handlers see it: no framework in between. */
export interface Exchange {
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: unknown;
  res: ServerResponse;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads and parses a JSON request body, with the errors Fastify gives elsewhere: 413 past
 * `limitBytes` (checked on content-length first, then while reading), 415 for another content
 * type, 400 for malformed JSON. Parsed with a plain JSON.parse: the gateway only reads known
 * fields, so `__proto__` keys in a body are inert.
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const type = req.headers['content-type'];
    if (!type || !JSON_TYPE.test(type)) {
      req.resume();
      return reject(new ApiError(415, `Unsupported Media Type: ${type ?? 'none'}; send application/json`, 'invalid_request_error', 'unsupported_media_type'));
    }
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => new ApiError(413, 'Request body is too large', 'invalid_request_error', 'request_too_large');
    if (declared > limitBytes) {
      req.resume();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limitBytes) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (e) => {
      failed = true;
      reject(e);
    });
    req.on('end', () => {
      if (failed) return;
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
      if (text === '') return reject(ApiError.invalidRequest('the request body is empty; send a JSON object'));
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(ApiError.invalidRequest(`the request body is not valid JSON: ${(e as Error).message}`));
      }
    });
  });
}

/** Answers with a JSON body in one write, made with the turn's other writes (socketWrites). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  socketWrites.defer(() => {
    if (!res.destroyed && !res.writableEnded) res.end(text);
  });
}
