import { Messages, type MessageName } from './catalog.js';
import { compileCheck } from './compiled-check.js';
import { EnvelopeShapeDto } from './envelope.js';
import { sampleEnvelope } from './testing.js';
import { validateMessage, validateWithDecorators } from './validate.js';

type Json = Record<string, unknown>;

/** Values every field is tried with: each type JSON has, and the edges of the contract's rules. */
const VALUES: unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53,
  1e308,
  '',
  'x',
  ' ',
  '1',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(128),
  'x'.repeat(129),
  'x'.repeat(200),
  'x'.repeat(201),
  'a b',
  'saga/1',
  'FR-1',
  'FR-054',
  'fr-1',
  'BUG-12',
  'FR-',
  'ok',
  'error',
  'OK',
  'llm-gateway.usage',
  'llm-gateway.other',
  '0b5f0c9e-3f6a-4d2b-9c1e-7a8b9c0d1e2f',
  '0B5F0C9E-3F6A-4D2B-9C1E-7A8B9C0D1E2F',
  '00000000-0000-0000-0000-000000000000',
  '0b5f0c9e-3f6a-1d2b-9c1e-7a8b9c0d1e2f',
  '0b5f0c9e3f6a4d2b9c1e7a8b9c0d1e2f',
  '2026-12-02T10:11:12.345Z',
  '2026-12-02T10:11:12Z',
  '2026-12-02',
  '2026-02-30T00:00:00Z',
  '2026-12-02T25:00:00Z',
  '2026-12-02 10:11:12',
  'not a date',
  [],
  ['ok'],
  {},
  { a: 1 },
];

/** Deterministic pseudo-random numbers (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function set(target: Json, key: string, value: unknown): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}

/** The sample message with every field, optional ones too, so each is tried present and absent. */
function fullSample(name: MessageName, optional: Json): Json {
  const env = JSON.parse(JSON.stringify(sampleEnvelope(name, { jobId: 'job-1', causationId: 'c1f0e9d8-7b6a-4c5d-8e4f-3a2b1c0d9e8f' }))) as Json;
  Object.assign(env.payload as Json, optional);
  return env;
}

/** Every field of the envelope and of the payload set to every value, then random pairs of those changes. */
function cases(name: MessageName, optional: Json): unknown[] {
  const base = fullSample(name, optional);
  const fields = [...Object.keys(base).filter((k) => k !== 'payload'), 'unknownField'].map((k) => [k] as const);
  const payloadFields = [...Object.keys(base.payload as Json), 'unknownField'].map((k) => ['payload', k] as const);
  const all = [...fields, ...payloadFields];
  const change = (env: Json, path: readonly string[], value: unknown) => set(path.length === 1 ? env : (env.payload as Json), path.at(-1)!, value);
  const out: unknown[] = [base, null, [], 'text', 12];
  for (const path of all)
    for (const value of VALUES) {
      const env = structuredClone(base);
      change(env, path, value);
      out.push(env);
    }
  for (const value of VALUES) out.push({ ...structuredClone(base), payload: value });
  const next = random(54);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  for (let i = 0; i < 2000; i += 1) {
    const env = structuredClone(base);
    change(env, pick(all), pick(VALUES));
    change(env, pick(all), pick(VALUES));
    out.push(env);
  }
  return out;
}

/** The fields each precompiled type has only sometimes (absent from its sample). */
const OPTIONAL_PAYLOAD: Partial<Record<MessageName, Json>> = {
  LlmUsage: { cacheWriteTokens: 3, apiKeyId: 'tools' },
};

const precompiledNames = (Object.keys(Messages) as MessageName[]).filter((n) => (Messages[n] as { precompiled?: boolean }).precompiled);

describe('precompiled message checks', () => {
  it('are in use for the usage event', () => {
    expect(precompiledNames).toContain('LlmUsage');
    expect(compileCheck(Messages.LlmUsage.payload)).toBeDefined();
    expect(compileCheck(EnvelopeShapeDto)).toBeDefined();
  });

  it.each(precompiledNames)(
    'accept and refuse exactly the %s messages class-validator does, with the same value',
    (name) => {
      const def = Messages[name];
      let accepted = 0;
      let refused = 0;
      const differences: unknown[] = [];
      for (const raw of cases(name, OPTIONAL_PAYLOAD[name] ?? {})) {
        const fast = validateMessage(def, structuredClone(raw));
        const full = validateWithDecorators(def, structuredClone(raw));
        if (fast.ok !== full.ok) differences.push({ raw, fast: fast.ok, full: full.ok });
        else if (fast.ok && full.ok) {
          // Same value, down to the payload's class and its undefined properties.
          expect(fast.value).toStrictEqual(full.value);
          accepted += 1;
        } else {
          // A refused message is reported by class-validator itself: the same problems.
          if (JSON.stringify(fast) !== JSON.stringify(full)) differences.push({ raw, fast, full });
          refused += 1;
        }
      }
      expect(differences).toEqual([]);
      // Both verdicts were exercised, many times.
      expect(accepted).toBeGreaterThan(100);
      expect(refused).toBeGreaterThan(1000);
    },
    30_000,
  );

  it('are not made for decorators they do not reproduce (nested objects)', () => {
    expect(compileCheck(Messages.OpenPr.payload)).toBeUndefined();
  });
});
