import {
  forgeErrorOf,
  GitHubForgeError,
  httpFailureOf,
  isPrAlreadyExists,
  rateLimitWaitMs,
  scrubSecret,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  type HttpFailure,
} from './github-errors.js';

const NOW = Date.UTC(2026, 10, 24, 10, 0, 0);
const failure = (status: number, headers: HttpFailure['headers'] = {}, message = 'x'): HttpFailure => ({ status, headers, message });

describe('rateLimitWaitMs', () => {
  it('waits retry-after seconds on 429 and on a secondary-limit 403', () => {
    expect(rateLimitWaitMs(failure(429, { 'retry-after': '3' }), NOW)).toBe(3000);
    expect(rateLimitWaitMs(failure(403, { 'retry-after': 7 }, 'You have exceeded a secondary rate limit'), NOW)).toBe(7000);
  });

  it('waits until x-ratelimit-reset (plus a second) when the primary limit is used up', () => {
    const reset = String(NOW / 1000 + 30);
    expect(rateLimitWaitMs(failure(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }), NOW)).toBe(31_000);
    // A reset already past: go again at once (plus the second of slack).
    expect(rateLimitWaitMs(failure(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 - 5) }), NOW)).toBe(1000);
  });

  it('falls back to a minute when GitHub says "rate limit" without saying how long', () => {
    expect(rateLimitWaitMs(failure(429), NOW)).toBe(DEFAULT_RATE_LIMIT_WAIT_MS);
    expect(rateLimitWaitMs(failure(403, {}, 'API rate limit exceeded'), NOW)).toBe(DEFAULT_RATE_LIMIT_WAIT_MS);
  });

  it('is no rate limit for a plain 403 (missing permission) or any other status', () => {
    expect(rateLimitWaitMs(failure(403, { 'x-ratelimit-remaining': '4000' }, 'Resource not accessible by integration'), NOW)).toBeUndefined();
    expect(rateLimitWaitMs(failure(422, { 'retry-after': '3' }), NOW)).toBeUndefined();
  });
});

describe('forgeErrorOf', () => {
  it.each([
    [401, 'GITHUB_UNAUTHORIZED', 'invalid'],
    [403, 'GITHUB_FORBIDDEN', 'invalid'],
    [404, 'GITHUB_NOT_FOUND', 'not-found'],
    [405, 'GITHUB_UNPROCESSABLE', 'conflict'],
    [409, 'GITHUB_CONFLICT', 'conflict'],
    [422, 'GITHUB_UNPROCESSABLE', 'conflict'],
    [410, 'GITHUB_REQUEST_REFUSED', 'invalid'],
    [502, 'GITHUB_UNAVAILABLE', 'unavailable'],
  ])('%i -> %s (%s)', (status, code, kind) => {
    const e = forgeErrorOf(failure(status, {}, 'Bad things'), 'open a PR in octo/greeter');
    expect(e).toBeInstanceOf(GitHubForgeError);
    expect(e).toMatchObject({ code, kind, status, githubMessage: 'Bad things' });
    expect(e.message).toMatch(new RegExp(`^open a PR in octo/greeter: GitHub answered ${status}: Bad things`));
  });

  it('tells a refused token to look at GITHUB_TOKEN', () => {
    expect(forgeErrorOf(failure(401, {}, 'Bad credentials'), 'x').message).toContain('check GITHUB_TOKEN');
  });
});

describe('httpFailureOf, isPrAlreadyExists, scrubSecret', () => {
  it('reads an Octokit RequestError by its shape, and nothing else', () => {
    const e = Object.assign(new Error('Not Found'), { status: 404, response: { headers: { 'x-github-request-id': 'A' } } });
    expect(httpFailureOf(e)).toEqual({ status: 404, headers: { 'x-github-request-id': 'A' }, message: 'Not Found' });
    expect(httpFailureOf(new Error('socket hang up'))).toBeUndefined();
    expect(httpFailureOf({ status: 500 })).toBeUndefined();
  });

  it('recognises GitHub’s 422 for a PR that exists already', () => {
    const message =
      'Validation Failed: {"resource":"PullRequest","code":"custom","message":"A pull request already exists for octo:agency/FR-1-x."} - https://docs.github.com/rest';
    expect(isPrAlreadyExists(failure(422, {}, message))).toBe(true);
    expect(isPrAlreadyExists(failure(422, {}, 'Validation Failed: {"field":"head","code":"invalid"}'))).toBe(false);
    expect(isPrAlreadyExists(failure(409, {}, message))).toBe(false);
  });

  it('removes a secret wherever it appears', () => {
    expect(scrubSecret('a tok b tok', 'tok')).toBe('a *** b ***');
    expect(scrubSecret('nothing', undefined)).toBe('nothing');
  });
});
