import { ConfigError, loadConfig } from '@agency/config';
import { ApiKeySet } from './auth/api-key-set.js';
import { GATEWAY_SECRETS, LlmGatewayConfig } from './llm-gateway.config.js';

const SECRET = 'agents-secret-0123456789';

function load(env: Record<string, string>): LlmGatewayConfig {
  return loadConfig('llm-gateway', LlmGatewayConfig, env, GATEWAY_SECRETS);
}

function failure(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('LlmGatewayConfig', () => {
  it('parses the keys into hashes and defaults the port to 7106', () => {
    const config = load({ VAULT_PATH: '/vault', GATEWAY_API_KEYS: `agents:${SECRET}` });
    expect(config.HTTP_PORT).toBe(7106);
    expect(config.GATEWAY_API_KEYS).toBeInstanceOf(ApiKeySet);
    expect(config.GATEWAY_API_KEYS.verify(SECRET)).toBe('agents');
    expect(JSON.stringify(config)).not.toContain(SECRET);
  });

  it('names missing variables', () => {
    const e = failure({});
    expect(e.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^VAULT_PATH: .*\(it is not set\)$/),
        expect.stringMatching(/^GATEWAY_API_KEYS: GATEWAY_API_KEYS must be comma-separated id:secret pairs.*\(it is not set\)$/),
      ]),
    );
  });

  it('takes a file with the llm section instead of a vault', () => {
    expect(load({ LLM_CONFIG_FILE: '/etc/gateway.yaml', GATEWAY_API_KEYS: `agents:${SECRET}` })).toMatchObject({ LLM_CONFIG_FILE: '/etc/gateway.yaml' });
    expect(failure({ GATEWAY_API_KEYS: `agents:${SECRET}` }).problems).toEqual([
      'VAULT_PATH: VAULT_PATH must be set, unless LLM_CONFIG_FILE names the file with the llm section (it is not set)',
    ]);
  });

  it('explains a malformed key list without printing it', () => {
    const e = failure({ VAULT_PATH: '/vault', GATEWAY_API_KEYS: `agents:${SECRET},broken${SECRET}` });
    expect(e.message).toContain('entry 2 of 2 must look like id:secret');
    expect(e.message).toContain('(value hidden)');
    expect(e.message).not.toContain(SECRET);
  });

  it('waits 5 s at shutdown unless SHUTDOWN_FLUSH_MS says otherwise, and names a bad value', () => {
    const env = { VAULT_PATH: '/vault', GATEWAY_API_KEYS: `agents:${SECRET}` };
    expect(load(env).SHUTDOWN_FLUSH_MS).toBe(5_000);
    expect(load({ ...env, SHUTDOWN_FLUSH_MS: '100000' }).SHUTDOWN_FLUSH_MS).toBe(100_000);
    expect(load({ ...env, SHUTDOWN_FLUSH_MS: '0' }).SHUTDOWN_FLUSH_MS).toBe(0);
    // Not a number fails the range checks too; one of the problems says what is expected.
    expect(failure({ ...env, SHUTDOWN_FLUSH_MS: '100s' }).problems).toContain(
      'SHUTDOWN_FLUSH_MS: SHUTDOWN_FLUSH_MS must be a whole number of milliseconds (got "100s")',
    );
    expect(failure({ ...env, SHUTDOWN_FLUSH_MS: '-1' }).problems).toEqual(['SHUTDOWN_FLUSH_MS: SHUTDOWN_FLUSH_MS must not be negative (got "-1")']);
    expect(failure({ ...env, SHUTDOWN_FLUSH_MS: '7200000' }).problems).toEqual([
      'SHUTDOWN_FLUSH_MS: SHUTDOWN_FLUSH_MS must be at most 3600000 (an hour) (got "7200000")',
    ]);
  });
});
