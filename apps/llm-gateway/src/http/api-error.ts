import { HttpException } from '@nestjs/common';

/** OpenAI's error body: the `openai` SDK reads `error.message`, `error.type`, `error.code`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Anthropic's error body: `@anthropic-ai/sdk` reads `error.type` and `error.message`. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** The error type OpenAI uses for a status, for errors that did not come with one. */
export function openAiTypeOf(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Anthropic's error types (docs: "HTTP errors"). */
export function anthropicTypeOf(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export function codeOf(status: number): string | null {
  const codes: Record<number, string> = {
    401: 'invalid_api_key',
    404: 'not_found',
    405: 'method_not_allowed',
    413: 'request_too_large',
    415: 'unsupported_media_type',
    429: 'rate_limit_exceeded',
  };
  return codes[status] ?? null;
}

/**
 * An HTTP error of the gateway, answered in the format of the client's API: OpenAI's body on
 * /v1/chat/completions and /v1/models, Anthropic's on /v1/messages. `headers` go with it
 * (retry-after, and x-should-retry: false where retrying cannot help).
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    message: string,
    /** OpenAI's `type`; Anthropic's is derived from the status. */
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message, status);
    this.name = 'ApiError';
  }

  openAiBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  anthropicBody(): AnthropicErrorBody {
    return { type: 'error', error: { type: anthropicTypeOf(this.getStatus()), message: this.message } };
  }

  static invalidRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(400, message, 'invalid_request_error', code, param);
  }

  static unauthorized(message: string, code: string): ApiError {
    return new ApiError(401, message, 'invalid_request_error', code);
  }
}
