import { Injectable, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { IsString } from 'class-validator';
import { ConfigError, ServiceConfig } from '@agency/config';
import { configureService, SERVICE_CONFIG_KEY } from './service-config.module.js';

class DemoConfig extends ServiceConfig {
  @IsString()
  VAULT_PATH!: string;

  @IsString()
  API_TOKEN!: string;
}

@Injectable()
class NeedsConfig {
  constructor(readonly config: DemoConfig) {}
}

@Module({ providers: [NeedsConfig] })
class AppModule {}

describe('configureService', () => {
  it('provides the validated schema object through ConfigModule, to the app class and ConfigService alike', async () => {
    const { config, module } = await configureService('demo', DemoConfig, { VAULT_PATH: '/vault', API_TOKEN: 'tok', HTTP_PORT: '8080' });
    expect(config).toBeInstanceOf(DemoConfig);
    const ref = await Test.createTestingModule({ imports: [module, AppModule] }).compile();
    expect(ref.get(NeedsConfig).config).toBe(config);
    const settings = ref.get(ConfigService);
    expect(settings.get(SERVICE_CONFIG_KEY)).toBe(config);
    expect(settings.get(`${SERVICE_CONFIG_KEY}.HTTP_PORT`)).toBe(8080);
  });

  it('reads the environment it is given, neither process.env nor a .env file, and writes nothing back to process.env', async () => {
    const before = { ...process.env };
    const { config } = await configureService('demo', DemoConfig, { VAULT_PATH: '/vault', API_TOKEN: 'sk-canary-config' });
    expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(process.env).toEqual(before);
  });

  it('fails with a ConfigError naming each bad variable, a secret shown as hidden', async () => {
    const failure = configureService('demo', DemoConfig, { VAULT_PATH: '/vault', HTTP_PORT: 'eighty', API_TOKEN: '' }, ['API_TOKEN']);
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    const error = (await failure.catch((e: unknown) => e)) as ConfigError;
    expect(error.message).toMatch(/^demo: invalid configuration:\n/);
    expect(error.problems).toContainEqual(expect.stringMatching(/^HTTP_PORT: .*\(got "eighty"\)$/));
    expect(error.problems).toContainEqual(expect.stringMatching(/^API_TOKEN: .*\(it is not set\)$/));
  });
});
