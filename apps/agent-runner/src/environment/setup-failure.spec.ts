import { setupFailure } from './setup-failure.js';

describe('setupFailure', () => {
  it('is retryable when the output looks like a network or registry hiccup', () => {
    const f = setupFailure('npm ci', { exitCode: 1, timedOut: false, output: 'npm ERR! code ECONNRESET\nnpm ERR! network aborted' }, 900);
    expect(f).toMatchObject({ code: 'ENV_SETUP_FAILED', retryable: true });
    expect(f.message).toContain('`npm ci` failed (exit 1)');
    expect(f.message).toContain('ECONNRESET');
    expect(
      setupFailure('npm ci', { exitCode: 1, timedOut: false, output: 'npm ERR! 503 Service Unavailable - GET https://registry.npmjs.org/x' }, 900).retryable,
    ).toBe(true);
  });

  it('is not retryable for a setup that is simply broken, or a registry the proxy refused', () => {
    expect(setupFailure('pnpm install', { exitCode: 127, timedOut: false, output: 'sh: 1: pnpm: not found' }, 900)).toMatchObject({
      code: 'ENV_SETUP_FAILED',
      retryable: false,
    });
    expect(
      setupFailure(
        'npm ci',
        { exitCode: 1, timedOut: false, output: 'npm ERR! 403 Forbidden - agency registry proxy: evil.example:443 is not an allowed registry' },
        900,
      ).retryable,
    ).toBe(false);
  });

  it('says a setup ran out of time, and keeps only the end of long output', () => {
    const f = setupFailure('npm ci', { exitCode: 143, timedOut: true, output: `${'x'.repeat(10_000)}END` }, 900);
    expect(f).toMatchObject({ code: 'ENV_SETUP_TIMEOUT', retryable: true });
    expect(f.message).toContain('within SETUP_TIMEOUT_SECONDS (900 s)');
    expect(f.message.length).toBeLessThan(4200);
    expect(f.message.endsWith('END')).toBe(true);
  });
});
