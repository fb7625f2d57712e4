import { ConfigError, loadConfig } from '@agency/config';
import { AgentRunnerConfig, QUALIFIED_IMAGE } from './agent-runner.config.js';

const base = { VAULT_PATH: '/vault', WORK_DIR: '/work', LLM_GATEWAY_URL: 'http://127.0.0.1:7106/v1', LLM_GATEWAY_API_KEY: 'k' };

describe('SANDBOX_IMAGE: a qualified image reference only', () => {
  it.each([
    'localhost/agency/sandbox:latest',
    'localhost:5000/agency/sandbox:1.0',
    'registry.example.com/agency/sandbox:0.2.0',
    'registry.example.com/agency/sandbox@sha256:' + 'a'.repeat(64),
    'docker.io/library/node:24-bookworm-slim',
    'sha256:' + 'b'.repeat(64),
  ])('accepts %s', (image) => {
    expect(image).toMatch(QUALIFIED_IMAGE);
    expect(loadConfig('agent-runner', AgentRunnerConfig, { ...base, SANDBOX_IMAGE: image }).SANDBOX_IMAGE).toBe(image);
  });

  it.each(['agency/sandbox:latest', 'sandbox', 'node:24', 'agency/sandbox', 'LOCALHOST/agency/x', 'localhost/agency/sandbox:latest extra'])(
    'refuses %s, saying why',
    (image) => {
      expect(image).not.toMatch(QUALIFIED_IMAGE);
      expect(() => loadConfig('agent-runner', AgentRunnerConfig, { ...base, SANDBOX_IMAGE: image })).toThrow(ConfigError);
      expect(() => loadConfig('agent-runner', AgentRunnerConfig, { ...base, SANDBOX_IMAGE: image })).toThrow(
        /SANDBOX_IMAGE must name its registry host.*Docker Hub/,
      );
    },
  );

  it('defaults to the locally built image under localhost', () => {
    expect(loadConfig('agent-runner', AgentRunnerConfig, base).SANDBOX_IMAGE).toBe('localhost/agency/sandbox:latest');
  });
});
