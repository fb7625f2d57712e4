import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { messageDefForSubject, type MessageDef, type PayloadOf } from './catalog.js';
import { EnvelopeShapeDto, type Envelope } from './envelope.js';

export interface ContractProblem {
  /** Dotted path of the offending field, e.g. `payload.fr.id`; empty for the message itself. */
  path: string;
  message: string;
}

export interface ContractViolation {
  subject: string;
  problems: ContractProblem[];
  /** One line naming every problem: what ends up in logs and dead-letter reasons. */
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; error: ContractViolation };

const OPTIONS = { whitelist: true, forbidUnknownValues: true, validationError: { target: false, value: true } } as const;

function flatten(errors: ValidationError[], prefix: string, out: ContractProblem[]): ContractProblem[] {
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    for (const text of Object.values(e.constraints ?? {})) {
      out.push({ path, message: `${path}: ${text.replace(new RegExp(`^${e.property}\\b`), path)}` });
    }
    if (e.children?.length) flatten(e.children, path, out);
  }
  return out;
}

function fail(subject: string, problems: ContractProblem[]): ValidationResult<never> {
  const label = messageDefForSubject(subject)?.type ?? subject;
  return { ok: false, error: { subject, problems, message: `invalid ${label} message: ${problems.map((p) => p.message).join('; ')}` } };
}

/** Parses raw bytes as JSON; a parse error names the subject and the position. */
export function parseMessage(subject: string, data: Uint8Array | string): ValidationResult<unknown> {
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return fail(subject, [{ path: '', message: `body is not valid JSON (${(e as Error).message})` }]);
  }
}

/**
 * Validates an incoming message against the definition registered for its subject and returns
 * a typed envelope, or an error that names each field and its problem.
 */
export function validateMessage<D extends MessageDef>(def: D, raw: unknown): ValidationResult<Envelope<PayloadOf<D>>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail(def.subject, [{ path: '', message: `message must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}` }]);
  }
  const shape = plainToInstance(EnvelopeShapeDto, raw);
  const problems = flatten(validateSync(shape, OPTIONS), '', []);
  const record = raw as Record<string, unknown>;
  if (typeof record.type === 'string' && record.type !== def.type) {
    problems.push({ path: 'type', message: `type: expected "${def.type}" on ${def.subject}, got "${record.type}"` });
  }
  if (typeof record.version === 'number' && record.version !== def.version) {
    problems.push({ path: 'version', message: `version: expected ${def.version} on ${def.subject}, got ${record.version}` });
  }
  let payload: object | undefined;
  if (typeof record.payload === 'object' && record.payload !== null && !Array.isArray(record.payload)) {
    payload = plainToInstance(def.payload, record.payload) as object;
    flatten(validateSync(payload, OPTIONS), 'payload', problems);
  }
  if (problems.length > 0) return fail(def.subject, problems);
  const { id, type, version, frId, jobId, sagaId, step, attempt, occurredAt, causationId } = shape;
  const value: Envelope<PayloadOf<D>> = { id, type, version, frId, sagaId, step, attempt, occurredAt, payload: payload as PayloadOf<D> };
  if (jobId !== undefined) value.jobId = jobId;
  if (causationId !== undefined) value.causationId = causationId;
  return { ok: true, value };
}

/** Same as validateMessage, looking the definition up by subject; unknown subjects are an error. */
export function validateForSubject(subject: string, raw: unknown): ValidationResult<Envelope<object>> {
  const def = messageDefForSubject(subject);
  if (!def) return fail(subject, [{ path: '', message: `no message type is registered for subject ${subject}` }]);
  return validateMessage(def, raw);
}
