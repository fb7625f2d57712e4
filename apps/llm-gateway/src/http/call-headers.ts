import { FR_ID_PATTERN, SAFE_ID_PATTERN } from '@agency/contracts';
import { AGENCY_CALL_HEADERS } from '@agency/llm-client';
import { MAX_DEADLINE_MS } from '../config/routing-settings.js';
import type { LlmCallContext } from '../providers/llm-provider.js';
import { ApiError } from './api-error.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * The FR's budget in USD, sent by the orchestrator (from the FR's tier) with its calls. Not in
 * @agency/llm-client's AGENCY_CALL_HEADERS yet: callers set it themselves.
 */
export const FR_BUDGET_HEADER = 'x-agency-fr-budget-usd';

/** How long (ms) the caller waits at most for the answer to start, over retries and fallbacks. */
export const DEADLINE_HEADER = 'x-agency-deadline-ms';

/** The limits of the envelope fields these headers end up in (libs/contracts envelope.ts). */
const RULES: Record<keyof LlmCallContext, { pattern: RegExp; max: number; hint: string }> = {
  frId: { pattern: FR_ID_PATTERN, max: 128, hint: 'must look like FR-123' },
  jobId: { pattern: SAFE_ID_PATTERN, max: 128, hint: 'may only contain letters, digits, "_", "." and "-" (at most 128)' },
  sagaId: { pattern: SAFE_ID_PATTERN, max: 128, hint: 'may only contain letters, digits, "_", "." and "-" (at most 128)' },
  step: { pattern: SAFE_ID_PATTERN, max: 64, hint: 'may only contain letters, digits, "_", "." and "-" (at most 64)' },
};

/**
 * Reads the x-agency-* headers that tag a call with its FR, job, saga and step. A malformed one
 * is a 400 naming the header: it would otherwise make the usage event unpublishable.
 */
export function callContextFromHeaders(headers: Headers): LlmCallContext {
  const ctx: LlmCallContext = {};
  for (const key of Object.keys(RULES) as (keyof LlmCallContext)[]) {
    const name = AGENCY_CALL_HEADERS[key];
    const raw = headers[name];
    if (raw === undefined || raw === '') continue;
    const value = Array.isArray(raw) ? raw[0]! : raw;
    const rule = RULES[key];
    if (Array.isArray(raw) && raw.length > 1) throw ApiError.invalidRequest(`header ${name} is given ${raw.length} times`, name, 'invalid_header');
    if (value.length > rule.max || !rule.pattern.test(value)) throw ApiError.invalidRequest(`header ${name} ${rule.hint}`, name, 'invalid_header');
    ctx[key] = value;
  }
  return ctx;
}

/** A header that may be given once, trimmed; undefined when absent or empty. */
function single(headers: Headers, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined || raw === '') return undefined;
  if (Array.isArray(raw) && raw.length > 1) throw ApiError.invalidRequest(`header ${name} is given ${raw.length} times`, name, 'invalid_header');
  return (Array.isArray(raw) ? raw[0]! : raw).trim();
}

/** The x-agency-fr-budget-usd header as a number of USD; a malformed one is a 400 naming it. */
export function frBudgetFromHeaders(headers: Headers): number | undefined {
  const value = single(headers, FR_BUDGET_HEADER);
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(Number(value))) {
    throw ApiError.invalidRequest(
      `header ${FR_BUDGET_HEADER} must be a number of USD like 12.50, got "${value.slice(0, 32)}"`,
      FR_BUDGET_HEADER,
      'invalid_header',
    );
  }
  return Number(value);
}

/** The x-agency-deadline-ms header as milliseconds (1 to MAX_DEADLINE_MS); a malformed one is a 400 naming it. */
export function deadlineFromHeaders(headers: Headers): number | undefined {
  const value = single(headers, DEADLINE_HEADER);
  if (value === undefined) return undefined;
  const ms = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(ms >= 1 && ms <= MAX_DEADLINE_MS)) {
    throw ApiError.invalidRequest(
      `header ${DEADLINE_HEADER} must be a whole number of milliseconds from 1 to ${MAX_DEADLINE_MS}, got "${value.slice(0, 32)}"`,
      DEADLINE_HEADER,
      'invalid_header',
    );
  }
  return ms;
}
