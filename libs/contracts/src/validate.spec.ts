import { Messages, messageDefForSubject, type MessageName } from './catalog.js';
import { parseMessage, validateForSubject, validateMessage } from './validate.js';
import { sampleEnvelope, samplePayloads } from './testing.js';

const names = Object.keys(Messages) as MessageName[];

describe('validateMessage', () => {
  it.each(names)('accepts a valid %s message and returns a typed value', (name) => {
    const env = sampleEnvelope(name);
    const result = validateMessage(Messages[name], JSON.parse(JSON.stringify(env)));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.payload).toEqual(samplePayloads[name]);
      expect(result.value.payload).toBeInstanceOf(Messages[name].payload);
    }
  });

  it.each(names)('names the missing payload field of a %s message', (name) => {
    const env = JSON.parse(JSON.stringify(sampleEnvelope(name))) as { payload: Record<string, unknown> };
    const field = Object.keys(env.payload)[0]!;
    delete env.payload[field];
    const result = validateMessage(Messages[name], env);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.problems.map((p) => p.path)).toContain(`payload.${field}`);
      expect(result.error.message).toContain(`payload.${field}`);
      expect(result.error.message).toContain(Messages[name].type);
    }
  });

  it.each(names)('rejects a %s message with a wrongly typed payload field', (name) => {
    const env = JSON.parse(JSON.stringify(sampleEnvelope(name))) as { payload: Record<string, unknown> };
    const field = Object.keys(env.payload)[0]!;
    env.payload[field] = typeof env.payload[field] === 'number' ? 'not a number' : 12345;
    const result = validateMessage(Messages[name], env);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.problems.some((p) => p.path.startsWith(`payload.${field}`))).toBe(true);
  });

  it('names nested fields with their full path', () => {
    const env = sampleEnvelope('Plan');
    (env.payload.fr as { id: string }).id = 'not-an-id';
    const result = validateMessage(Messages.Plan, JSON.parse(JSON.stringify(env)));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.problems).toEqual([expect.objectContaining({ path: 'payload.fr.id' })]);
      expect(result.error.message).toMatch(/payload\.fr\.id.*FR-123/);
    }
  });

  it('names fields inside arrays by index', () => {
    const env = JSON.parse(JSON.stringify(sampleEnvelope('Reviewed')));
    env.payload.findings[0].severity = 'catastrophic';
    const result = validateMessage(Messages.Reviewed, env);
    expect(!result.ok && result.error.problems[0]?.path).toBe('payload.findings.0.severity');
  });

  it.each([
    ['id', 'not-a-uuid'],
    ['frId', 'fr 1'],
    ['sagaId', 'has spaces'],
    ['attempt', 0],
    ['occurredAt', 'yesterday'],
    ['version', 'one'],
  ])('rejects an envelope with a bad %s', (field, value) => {
    const env = { ...sampleEnvelope('ScoreFr'), [field]: value };
    const result = validateMessage(Messages.ScoreFr, env);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.problems.map((p) => p.path)).toContain(field);
  });

  it('rejects a message whose type does not match its subject', () => {
    const env = { ...sampleEnvelope('ScoreFr'), type: 'router.scored' };
    const result = validateMessage(Messages.ScoreFr, env);
    expect(!result.ok && result.error.message).toContain('type: expected "router.score"');
  });

  it('rejects a newer version on an older subject', () => {
    const result = validateMessage(Messages.ScoreFr, { ...sampleEnvelope('ScoreFr'), version: 2 });
    expect(!result.ok && result.error.problems[0]?.path).toBe('version');
  });

  it.each([null, 42, 'text', [1, 2]])('rejects a non-object body (%j)', (raw) => {
    const result = validateMessage(Messages.ScoreFr, raw);
    expect(!result.ok && result.error.message).toMatch(/must be a JSON object/);
  });

  it('rejects a missing payload', () => {
    const { payload: _payload, ...rest } = sampleEnvelope('ScoreFr');
    const result = validateMessage(Messages.ScoreFr, rest);
    expect(!result.ok && result.error.problems.map((p) => p.path)).toContain('payload');
  });

  it('strips unknown fields so newer producers do not break older consumers', () => {
    const env = { ...sampleEnvelope('JobQueued'), extra: true, payload: { ...samplePayloads.JobQueued, futureField: 'x' } };
    const result = validateMessage(Messages.JobQueued, env);
    expect(result.ok && result.value.payload).toEqual(samplePayloads.JobQueued);
    expect(result.ok && 'extra' in result.value).toBe(false);
  });
});

describe('validateForSubject and parseMessage', () => {
  it('finds the definition by subject', () => {
    const result = validateForSubject(Messages.Coded.subject, sampleEnvelope('Coded'));
    expect(result.ok).toBe(true);
  });

  it('refuses an unknown subject by name', () => {
    const result = validateForSubject('agency.cmd.router.dance.v1', sampleEnvelope('ScoreFr'));
    expect(!result.ok && result.error.message).toContain('no message type is registered for subject agency.cmd.router.dance.v1');
  });

  it('reports broken JSON with the subject', () => {
    const result = parseMessage(Messages.ScoreFr.subject, new TextEncoder().encode('{"id": '));
    expect(!result.ok && result.error.message).toMatch(/invalid router.score message: body is not valid JSON/);
  });

  it('registers every subject exactly once with a versioned name', () => {
    const subjects = Object.values(Messages).map((d) => d.subject);
    expect(new Set(subjects).size).toBe(subjects.length);
    for (const s of subjects) {
      expect(s).toMatch(/^agency\.(cmd|evt)\.[a-z-]+\.[a-z-]+\.v\d+$/);
      expect(messageDefForSubject(s)?.subject).toBe(s);
    }
  });
});
