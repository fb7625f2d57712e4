import { ApiKeySet } from './api-key-set.js';

const A = 'agents-secret-0123456789';
const B = 'cli-secret-abcdefghijkl';

describe('ApiKeySet', () => {
  it('knows each key by its id', () => {
    const keys = ApiKeySet.parse(`agents:${A}, cli:${B}`);
    expect(keys.problems).toEqual([]);
    expect(keys.ids).toEqual(['agents', 'cli']);
    expect(keys.verify(A)).toBe('agents');
    expect(keys.verify(B)).toBe('cli');
    expect(keys.verify(`${A}x`)).toBeUndefined();
    expect(keys.verify('')).toBeUndefined();
    expect(keys.verify('agents')).toBeUndefined();
  });

  it('allows ":" inside a secret', () => {
    expect(ApiKeySet.parse('a:with:colons:0123456789').verify('with:colons:0123456789')).toBe('a');
  });

  it('keeps only hashes, and never prints secrets or hashes', () => {
    const keys = ApiKeySet.parse(`agents:${A}`);
    const shown = `${JSON.stringify(keys)} ${JSON.stringify({ keys })}`;
    expect(shown).not.toContain(A);
    expect(JSON.stringify(keys)).toBe('"[1 key(s): agents]"');
    // Nothing enumerable on the object holds the secret either.
    expect(JSON.stringify(Object.values(keys))).not.toContain(A);
  });

  it('names malformed entries without quoting secrets', () => {
    const keys = ApiKeySet.parse(`nocolon${A},bad id:${A},short:abc,agents:${A},agents:${B}`);
    expect(keys.problems).toEqual([
      'entry 1 of 5 must look like id:secret',
      'entry 2 of 5: the id may only contain letters, digits, "_", "." and "-" (1-64 characters)',
      'entry 3 of 5 ("short"): the secret must be at least 16 characters',
      'entry 5 of 5: the id "agents" is used twice',
    ]);
    expect(keys.problems.join(' ')).not.toContain(A);
    expect(keys.problems.join(' ')).not.toContain(B);
  });
});
