import { join, resolve } from 'node:path';
import { AgencyConfigError, cloneUrlOf, loadAgencyConfig, localForgeRoot, parseAgencyConfig } from './agency-config.js';
import { loadAgent, loadAgents, loadReviewRules, VaultFileError } from './agents.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tempDir } from '@agency/testing';

const exampleVault = join(import.meta.dirname, '..', '..', '..', 'examples', 'vault');

describe('agency.yaml', () => {
  it('loads the example vault config with defaults and tiers sorted by score', () => {
    const config = loadAgencyConfig(exampleVault);
    expect(Object.keys(config.repos)).toEqual(['example/greeter']);
    expect(config.repos['example/greeter']).toMatchObject({ forge: 'local', base: 'main', test: 'npm test' });
    expect(config.tiers.map((t) => t.name)).toEqual(['small', 'medium', 'large']);
    expect(config.approval).toMatchObject({ merge: 'human', auto_merge_min_confidence: 0.85 });
    // Relative paths resolve from 40_config: the forge sits beside the vault.
    expect(localForgeRoot(config, exampleVault)).toBe(resolve(exampleVault, '..', 'forge'));
    expect(cloneUrlOf(config, exampleVault, 'example/greeter')).toMatch(/forge\/example\/greeter\.git$/);
  });

  it('names each problem with its path', () => {
    const text = `
repos:
  acme/app: { forge: gitlab, network: "my net", registries: ["registry.npmjs.org", "evil host", "*.pkg.dev:8443"], test_report: "../junit.xml" }
tiers:
  - { name: small, max_score: 150, models: { planner: p, coder: c }, sandbox: { memory_mb: 8, pids: 2.5 } }
  - { name: small, max_score: 10, models: { planner: p, coder: c, reviewer: r }, review_rounds: -1 }
approval: { merge: sometimes }
defaults: { repo: nope/none }
`;
    try {
      parseAgencyConfig(text, 'agency.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AgencyConfigError);
      const p = (e as AgencyConfigError).problems.join('\n');
      expect(p).toMatch(/repos\.acme\/app\.forge: must be one of the following values: local, github/);
      expect(p).toMatch(/repos\.acme\/app\.test: /);
      expect(p).toMatch(/tiers\.0\.max_score: must not be greater than 100/);
      expect(p).toMatch(/repos\.acme\/app\.network: must be "registries", "none" or a Docker network name/);
      expect(p).toMatch(/repos\.acme\/app\.registries: must be host names, host:port or \*\.domain/);
      expect(p).toMatch(/repos\.acme\/app\.test_report: must be a path relative to the repository, without "\.\."/);
      expect(p).not.toMatch(/registry\.npmjs\.org|pkg\.dev/);
      expect(p).toMatch(/tiers\.0\.sandbox\.memory_mb: must not be less than 64/);
      expect(p).toMatch(/tiers\.0\.sandbox\.pids: must be an integer number/);
      expect(p).toMatch(/tiers\.1\.review_rounds: must not be less than 0/);
      expect(p).toMatch(/tiers: "small" is defined twice/);
      expect(p).toMatch(/approval\.merge: /);
      expect(p).toMatch(/defaults\.repo: "nope\/none" is not in repos/);
    }
  });

  it('reads the optional routing section: no model and 15 points by default', () => {
    const base = 'repos: {}\ntiers: [{ name: s, max_score: 100, models: { coder: c } }]\n';
    expect(parseAgencyConfig(base).routing).toEqual({ max_adjustment: 15 });
    expect(loadAgencyConfig(exampleVault).routing.refine_model).toBeUndefined();
    expect(parseAgencyConfig(`${base}routing: { refine_model: router, max_adjustment: 0 }\n`).routing).toEqual({ refine_model: 'router', max_adjustment: 0 });
    expect(parseAgencyConfig(`${base}routing: { max_adjustment: 50 }\n`).routing).toEqual({ max_adjustment: 50 });
    const problems = (extra: string) => {
      try {
        parseAgencyConfig(base + extra, 'agency.yaml');
        return '';
      } catch (e) {
        return (e as AgencyConfigError).problems.join('\n');
      }
    };
    expect(problems('routing: { refine_model: "", max_adjustment: 51 }\n')).toMatch(
      /routing\.refine_model: must be longer than or equal to 1 characters[\s\S]*routing\.max_adjustment: must not be greater than 50/,
    );
    expect(problems('routing: { refine_model: 7, max_adjustment: -1 }\n')).toMatch(
      /routing\.refine_model: must be a string[\s\S]*routing\.max_adjustment: must not be less than 0/,
    );
    expect(problems('routing: { max_adjustment: 2.5 }\n')).toMatch(/routing\.max_adjustment: must be an integer number/);
    expect(problems('routing: fast\n')).toMatch(/routing: /);
  });

  it('reports YAML syntax errors and non-mappings', () => {
    expect(() => parseAgencyConfig('repos: [', 'a.yaml')).toThrow(/a\.yaml: YAML error/);
    expect(() => parseAgencyConfig('- 1', 'a.yaml')).toThrow(/must be a YAML mapping/);
    expect(() => loadAgencyConfig('/nonexistent')).toThrow(/cannot read/);
  });
});

describe('agents and review rules', () => {
  it('loads the example agents and rules', () => {
    const agents = loadAgents(exampleVault);
    expect(agents.coder).toMatchObject({ role: 'coder', model: 'coder', maxSteps: 30, temperature: 0 });
    expect(agents.coder.tools).toContain('run_command');
    expect(agents.planner.systemPrompt).toMatch(/^You are the planner/);
    const rules = loadReviewRules(exampleVault);
    expect(rules.map((r) => r.id)).toEqual(['tests-required', 'no-secrets']);
    expect(rules[0]).toMatchObject({ severity: 'major', appliesTo: ['*.js', '*.mjs', '*.cjs', '*.jsx', '*.ts', '*.mts', '*.cts', '*.tsx'] });
  });

  it('names the problems of a bad agent file', () => {
    const dir = tempDir('agents-');
    mkdirSync(join(dir.path, '20_agents'));
    writeFileSync(join(dir.path, '20_agents', 'coder.md'), '---\nrole: planner\nmax_steps: 0\ntools: read\n---\n');
    try {
      loadAgent(dir.path, 'coder');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VaultFileError);
      const p = (e as VaultFileError).problems.join('\n');
      expect(p).toMatch(/role: "planner" does not match the file name \(coder\)/);
      expect(p).toMatch(/model: required/);
      expect(p).toMatch(/max_steps: must be a positive integer/);
      expect(p).toMatch(/tools: must be a list/);
      expect(p).toMatch(/system prompt\) is empty/);
    }
    dir.remove();
  });
});

describe('clone URLs', () => {
  it('defaults a GitHub repository to github.com, or the configured web URL', () => {
    const base = 'repos:\n  acme/app: { forge: github, test: npm test }\ntiers: [{ name: s, max_score: 100, models: { planner: p, coder: c, reviewer: r } }]\n';
    expect(cloneUrlOf(parseAgencyConfig(base), '/v', 'acme/app')).toBe('https://github.com/acme/app.git');
    const ghe = parseAgencyConfig(`${base}forges:\n  github: { web_url: "https://git.example.com/" }\n`);
    expect(cloneUrlOf(ghe, '/v', 'acme/app')).toBe('https://git.example.com/acme/app.git');
  });
});
