import { boundOutput, commandEnv } from './command.runner.js';

describe('command runner helpers', () => {
  it('gives a command only a minimal environment: no keys, no NATS, no telemetry', () => {
    const env = commandEnv({ PATH: '/bin', HOME: '/h', LLM_GATEWAY_API_KEY: 'k', NATS_URL: 'nats://x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://o', GITHUB_TOKEN: 't' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/h', CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' });
  });

  it('keeps the start and the end of long output', () => {
    expect(boundOutput('short', 100)).toBe('short');
    const out = boundOutput(`${'a'.repeat(100)}${'b'.repeat(100)}${'c'.repeat(100)}`, 100);
    expect(out.startsWith('a'.repeat(25))).toBe(true);
    expect(out.endsWith('c'.repeat(75))).toBe(true);
    expect(out).toContain('[... 200 bytes left out ...]');
  });
});
