import { HttpException } from '@nestjs/common';

/** OpenAI's error body: the `openai` SDK reads `error.message`, `error.type`, `error.code`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An HTTP error the gateway answers in OpenAI's format, so every OpenAI client understands it. */
export class OpenAiError extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message, status);
    this.name = 'OpenAiError';
  }

  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  static invalidRequest(message: string, param: string | null = null, code: string | null = null): OpenAiError {
    return new OpenAiError(400, message, 'invalid_request_error', code, param);
  }

  static unauthorized(message: string, code: string): OpenAiError {
    return new OpenAiError(401, message, 'invalid_request_error', code);
  }
}

/** The error type OpenAI uses for a status, for errors that did not come as an OpenAiError. */
export function openAiTypeOf(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAiCodeOf(status: number): string | null {
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
