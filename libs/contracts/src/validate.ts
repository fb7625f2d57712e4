import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { messageDefForSubject, type MessageDef, type PayloadOf } from './catalog.js';
import { compileCheck, declaredProperties, instanceOf, type CompiledCheck } from './compiled-check.js';
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

interface Precompiled {
  envelope: CompiledCheck;
  payload: CompiledCheck;
  payloadProperties: string[];
}

/** Per precompiled definition: its checks, or null when its decorators cannot be compiled. */
const precompiled = new WeakMap<MessageDef, Precompiled | null>();

function precompiledOf(def: MessageDef): Precompiled | undefined {
  if (!def.precompiled) return undefined;
  let found = precompiled.get(def);
  if (found === undefined) {
    const envelope = compileCheck(EnvelopeShapeDto);
    const payload = compileCheck(def.payload);
    found = envelope && payload ? { envelope, payload, payloadProperties: declaredProperties(def.payload) } : null;
    precompiled.set(def, found);
  }
  return found ?? undefined;
}

/** The envelope validateWithDecorators returns for a message it accepts, made without it. */
function acceptedEnvelope<D extends MessageDef>(def: D, raw: Record<string, unknown>, checks: Precompiled): Envelope<PayloadOf<D>> {
  const r = raw as unknown as Envelope<Record<string, unknown>>;
  const payload = instanceOf(def.payload, r.payload, checks.payloadProperties) as PayloadOf<D>;
  const value: Envelope<PayloadOf<D>> = {
    id: r.id,
    type: r.type,
    version: r.version,
    frId: r.frId,
    sagaId: r.sagaId,
    step: r.step,
    attempt: r.attempt,
    occurredAt: r.occurredAt,
    payload,
  };
  if (r.jobId !== undefined) value.jobId = r.jobId;
  if (r.causationId !== undefined) value.causationId = r.causationId;
  return value;
}

/**
 * Validates an incoming message against the definition registered for its subject and returns
 * a typed envelope, or an error that names each field and its problem. A precompiled
 * definition's messages are checked by its compiled check; one it refuses goes through
 * validateWithDecorators, for the error.
 */
export function validateMessage<D extends MessageDef>(def: D, raw: unknown): ValidationResult<Envelope<PayloadOf<D>>> {
  const checks = precompiledOf(def);
  if (checks && typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    if (checks.envelope(r) && r.type === def.type && r.version === def.version && checks.payload(r.payload as Record<string, unknown>)) {
      return { ok: true, value: acceptedEnvelope(def, r, checks) };
    }
  }
  return validateWithDecorators(def, raw);
}

/** validateMessage by class-validator and class-transformer alone: the contract's definition. */
export function validateWithDecorators<D extends MessageDef>(def: D, raw: unknown): ValidationResult<Envelope<PayloadOf<D>>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail(def.subject, [
      { path: '', message: `message must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}` },
    ]);
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
