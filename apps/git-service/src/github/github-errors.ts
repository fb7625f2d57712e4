import { ForgeError, type ForgeErrorKind } from '../forge/forge.errors.js';

/** A ForgeError from a GitHub answer, keeping the status and GitHub's message for callers that look closer (422 "already exists"). */
export class GitHubForgeError extends ForgeError {
  constructor(
    code: string,
    message: string,
    kind: ForgeErrorKind,
    readonly status: number,
    readonly githubMessage: string,
  ) {
    super(code, message, kind);
  }
}

/** The parts of an Octokit RequestError this service reads (duck-typed: the class is Octokit's internal package). */
export interface HttpFailure {
  status: number;
  headers: Record<string, string | number | undefined>;
  /** GitHub's message (`message: errors - documentation_url`), never a header or the token. */
  message: string;
}

export function httpFailureOf(e: unknown): HttpFailure | undefined {
  if (!(e instanceof Error) || typeof (e as { status?: unknown }).status !== 'number') return undefined;
  const response = (e as { response?: { headers?: Record<string, string | number | undefined> } }).response;
  return { status: (e as unknown as { status: number }).status, headers: response?.headers ?? {}, message: e.message };
}

/** Used when GitHub says "rate limit" but gives no time: GitHub's own advice for secondary limits is to wait at least a minute. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

function header(f: HttpFailure, name: string): string | undefined {
  const v = f.headers[name];
  return v === undefined ? undefined : String(v);
}

/**
 * How long to wait before repeating a rate-limited request, or undefined when the failure is no
 * rate limit. GitHub answers 429, or 403 for primary (x-ratelimit-remaining: 0, reset at
 * x-ratelimit-reset epoch seconds) and secondary limits (retry-after seconds).
 */
export function rateLimitWaitMs(f: HttpFailure, nowMs: number): number | undefined {
  if (f.status !== 429 && f.status !== 403) return undefined;
  const retryAfter = Number(header(f, 'retry-after'));
  if (header(f, 'retry-after') !== undefined && Number.isFinite(retryAfter)) return Math.max(0, retryAfter * 1000);
  const remaining = header(f, 'x-ratelimit-remaining');
  const reset = Number(header(f, 'x-ratelimit-reset'));
  if (remaining === '0' && Number.isFinite(reset)) return Math.max(0, reset * 1000 - nowMs) + 1000;
  if (f.status === 429 || /rate limit/i.test(f.message)) return DEFAULT_RATE_LIMIT_WAIT_MS;
  return undefined;
}

/** Removes a secret from text that is about to become a message (belt and braces: GitHub's errors do not echo tokens). */
export function scrubSecret(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}

/**
 * A GitHub failure as a ForgeError: bad credentials or missing permissions never pass by
 * themselves (invalid: dead letter naming GITHUB_TOKEN); 404 and 409/405/422 are facts for the
 * saga; 5xx and network failures may pass (redelivery).
 */
export function forgeErrorOf(f: HttpFailure, what: string): GitHubForgeError {
  const detail = `${what}: GitHub answered ${f.status}: ${f.message}`.slice(0, 2000);
  const error = (code: string, message: string, kind: ForgeErrorKind) => new GitHubForgeError(code, message, kind, f.status, f.message);
  if (f.status === 401) return error('GITHUB_UNAUTHORIZED', `${detail} (check GITHUB_TOKEN)`, 'invalid');
  if (f.status === 403) return error('GITHUB_FORBIDDEN', `${detail} (the token lacks a permission this needs)`, 'invalid');
  if (f.status === 404) return error('GITHUB_NOT_FOUND', detail, 'not-found');
  if (f.status === 409) return error('GITHUB_CONFLICT', detail, 'conflict');
  if (f.status === 405 || f.status === 422) return error('GITHUB_UNPROCESSABLE', detail, 'conflict');
  if (f.status >= 400 && f.status < 500) return error('GITHUB_REQUEST_REFUSED', detail, 'invalid');
  return error('GITHUB_UNAVAILABLE', detail, 'unavailable');
}

/** GitHub's 422 when an open PR of the same head and base exists: the PR is found and updated instead. */
export function isPrAlreadyExists(f: HttpFailure): boolean {
  return f.status === 422 && /pull request already exists/i.test(f.message);
}
