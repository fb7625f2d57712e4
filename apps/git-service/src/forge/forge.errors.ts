/**
 * How a forge operation failed, which decides what callers do: `invalid` input never works
 * (dead letter, HTTP 400); `not-found` and `conflict` are facts the saga or a human must decide
 * about (step-failed event, HTTP 404/409); `unavailable` may pass (redelivery, HTTP 503).
 */
export type ForgeErrorKind = 'invalid' | 'not-found' | 'conflict' | 'unavailable';

export class ForgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly kind: ForgeErrorKind,
  ) {
    super(message);
    this.name = 'ForgeError';
  }
}

export const invalid = (code: string, message: string) => new ForgeError(code, message, 'invalid');
export const notFound = (code: string, message: string) => new ForgeError(code, message, 'not-found');
export const conflict = (code: string, message: string) => new ForgeError(code, message, 'conflict');
export const unavailable = (code: string, message: string) => new ForgeError(code, message, 'unavailable');
