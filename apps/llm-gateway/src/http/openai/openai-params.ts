import { kindOf } from '../../common/shape.js';
import { ApiError } from '../api-error.js';

// Checks of OpenAI request fields: a bad one is a 400 in OpenAI's format whose message and
// `param` name it ('messages[1].role': must be ...).

export function fail(param: string, message: string): never {
  throw ApiError.invalidRequest(`'${param}': ${message}`, param);
}

export function str(value: unknown, param: string, options: { allowEmpty?: boolean } = {}): string {
  if (typeof value !== 'string') fail(param, `must be a string, got ${kindOf(value)}`);
  if (!options.allowEmpty && value === '') fail(param, 'must not be empty');
  return value;
}

export function num(value: unknown, param: string, min: number, max: number, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(param, `must be a number, got ${kindOf(value)}`);
  if (integer && !Number.isInteger(value)) fail(param, `must be an integer, got ${value}`);
  if (value < min || value > max) fail(param, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function bool(value: unknown, param: string): boolean {
  if (typeof value !== 'boolean') fail(param, `must be a boolean, got ${kindOf(value)}`);
  return value;
}
