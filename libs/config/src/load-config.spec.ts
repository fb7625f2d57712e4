import { Type } from 'class-transformer';
import { IsInt, IsString, IsUrl, Min } from 'class-validator';
import { ServiceConfig } from './base.config.js';
import { ConfigError, loadConfig } from './load-config.js';

class DemoConfig extends ServiceConfig {
  @IsString()
  VAULT_PATH!: string;

  @IsUrl({ require_tld: false })
  GATEWAY_URL!: string;

  @IsString()
  API_TOKEN!: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  WORKERS: number = 2;
}

const valid = { VAULT_PATH: '/vault', GATEWAY_URL: 'http://localhost:4000', API_TOKEN: 'tok' };

describe('loadConfig', () => {
  it('converts types, applies defaults and keeps only declared variables', () => {
    const cfg = loadConfig('demo', DemoConfig, { ...valid, HTTP_PORT: '8080', PATH: '/usr/bin' });
    expect(cfg).toBeInstanceOf(DemoConfig);
    expect(cfg.HTTP_PORT).toBe(8080);
    expect(cfg.WORKERS).toBe(2);
    expect(cfg.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect('PATH' in cfg).toBe(false);
  });

  it('names every missing and bad variable at once', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig('demo', DemoConfig, { VAULT_PATH: '/vault', HTTP_PORT: 'eighty', NATS_URL: 'localhost', API_TOKEN: 'x' });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = error!.problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(expect.arrayContaining(['HTTP_PORT', 'NATS_URL', 'GATEWAY_URL']));
    expect(error!.message).toMatch(/^demo: invalid configuration/);
    expect(error!.message).toMatch(/GATEWAY_URL: .*it is not set/);
    // The value as written, not what its conversion made of it (NaN would print as null).
    expect(error!.message).toMatch(/HTTP_PORT: .*\(got "eighty"\)/);
  });

  it('treats empty strings as unset', () => {
    expect(() => loadConfig('demo', DemoConfig, { ...valid, VAULT_PATH: '' })).toThrow(/VAULT_PATH/);
  });

  it('never prints the value of a secret variable', () => {
    class Strict extends ServiceConfig {
      @IsUrl()
      SECRET_URL!: string;
    }
    try {
      loadConfig('demo', Strict, { SECRET_URL: 'sk-live-123' }, ['SECRET_URL']);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('SECRET_URL');
      expect((e as Error).message).not.toContain('sk-live-123');
    }
  });

  it("takes NATS credentials as a pair, and never prints the password or a URL's credentials", () => {
    expect(loadConfig('demo', DemoConfig, { ...valid, NATS_USER: 'router', NATS_PASSWORD: 'pw-123' })).toMatchObject({
      NATS_USER: 'router',
      NATS_PASSWORD: 'pw-123',
    });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig('demo', DemoConfig, { ...valid, ...env });
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ NATS_PASSWORD: 'sk-canary-nats-1' })).toEqual([
      'NATS_USER: NATS_USER must be set whenever NATS_PASSWORD is, to a name of letters, digits, "_" and "-" (it is not set)',
    ]);
    expect(problems({ NATS_USER: 'router' })).toEqual(['NATS_PASSWORD: NATS_PASSWORD must be set when NATS_USER is (it is not set)']);
    expect(problems({ NATS_USER: 'a b', NATS_PASSWORD: 'sk-canary-nats-2' })).toEqual([
      'NATS_USER: NATS_USER must be set whenever NATS_PASSWORD is, to a name of letters, digits, "_" and "-" (got "a b")',
    ]);
    const bad = problems({ NATS_URL: 'nats://router:sk-canary-nats-3@host:4222,oops' });
    expect(bad).toEqual([expect.stringMatching(/^NATS_URL: .*\(got "nats:\/\/\*\*\*@host:4222,oops"\)$/)]);
  });
});
