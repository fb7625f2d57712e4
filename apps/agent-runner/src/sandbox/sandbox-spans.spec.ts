import { programOf } from './sandbox-spans.js';

describe('programOf (the name of a command span)', () => {
  it('is the program a command line starts, without its path or leading variables, else sh', () => {
    expect(programOf('npm test')).toBe('npm');
    expect(programOf('  CI=1 FORCE_COLOR=0 /usr/bin/node --test')).toBe('node');
    expect(programOf('cd sub && make')).toBe('cd');
    expect(programOf('(echo hi)')).toBe('sh');
    expect(programOf(`${'x'.repeat(80)} --flag`)).toBe('sh');
    expect(programOf('')).toBe('sh');
  });
});
