import { ConfigError, loadConfig } from '@agency/config';
import { ROUTER_SECRETS, RouterConfig } from './router.config.js';

const load = (env: Record<string, string>) =>
  loadConfig('router', RouterConfig, { NATS_URL: 'nats://127.0.0.1:4222', VAULT_PATH: '/vault', ...env }, ROUTER_SECRETS);

function problems(env: Record<string, string>): string {
  try {
    load(env);
    return '';
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.join('\n');
  }
}

describe('RouterConfig', () => {
  it('runs without a gateway (the heuristic alone scores)', () => {
    const config = load({});
    expect(config.LLM_GATEWAY_URL).toBeUndefined();
    expect(config.LLM_GATEWAY_API_KEY).toBeUndefined();
    expect(config.LLM_TIMEOUT_MS).toBe(30_000);
  });

  it('takes the gateway URL with its key and a timeout', () => {
    expect(load({ LLM_GATEWAY_URL: 'http://llm-gateway:7106/v1', LLM_GATEWAY_API_KEY: 'k', LLM_TIMEOUT_MS: '5000' })).toMatchObject({
      LLM_GATEWAY_URL: 'http://llm-gateway:7106/v1',
      LLM_GATEWAY_API_KEY: 'k',
      LLM_TIMEOUT_MS: 5000,
    });
  });

  it('names a bad URL, a URL without its key, and a bad timeout', () => {
    expect(problems({ LLM_GATEWAY_URL: 'llm-gateway:7106', LLM_GATEWAY_API_KEY: 'k' })).toMatch(/LLM_GATEWAY_URL: LLM_GATEWAY_URL must be an http\(s\) URL/);
    expect(problems({ LLM_GATEWAY_URL: 'http://llm-gateway:7106/v1' })).toMatch(
      /LLM_GATEWAY_API_KEY: LLM_GATEWAY_API_KEY must be set when LLM_GATEWAY_URL is \(it is not set\)/,
    );
    expect(problems({ LLM_TIMEOUT_MS: '10' })).toMatch(/LLM_TIMEOUT_MS: LLM_TIMEOUT_MS must not be less than 1000/);
  });

  it('declares the key secret: a configuration error never shows it', () => {
    const text = problems({ LLM_GATEWAY_URL: 'nope', LLM_GATEWAY_API_KEY: 'sk-very-secret', LLM_TIMEOUT_MS: 'x' });
    expect(text).not.toBe('');
    expect(ROUTER_SECRETS).toContain('LLM_GATEWAY_API_KEY');
    expect(text).not.toContain('sk-very-secret');
  });
});
