import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { loadConfig } from '@agency/config';

/** Where ConfigService keeps the app's validated configuration object: `config.get(SERVICE_CONFIG_KEY)`. */
export const SERVICE_CONFIG_KEY = 'service';

export interface ServiceConfiguration<C> {
  /** The validated configuration, for what is built before Nest boots (the logger, the app's module). */
  config: C;
  /** Global: ConfigService, and the app's schema class as a provider of the same object. */
  module: DynamicModule;
}

@Module({})
class ServiceConfigModule {}

/**
 * The app's configuration through @nestjs/config: `ConfigModule.forRoot` validates it with the
 * app's class-validator schema (loadConfig: conversion, defaults, every bad variable named,
 * secrets hidden) and throws a ConfigError before Nest boots, so the caller fails fast.
 *
 * The environment is `env` as runService was given it (process.env in main.ts, a test's own in
 * process): ConfigModule's own sources are switched off (no .env file, not process.env, which a
 * test booting several services in one process does not set), so `validate` reads `env`. It
 * returns the object under one key: ConfigModule copies a validated result's flat string and
 * number values into process.env, which would hand one in-process service's variables to the
 * next and to every child process.
 */
export async function configureService<C extends object>(
  service: string,
  schema: new () => C,
  env: NodeJS.ProcessEnv,
  secrets: readonly string[] = [],
): Promise<ServiceConfiguration<C>> {
  let config: C | undefined;
  const configModule = await ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: true,
    validatePredefined: false,
    skipProcessEnv: true,
    validate: () => {
      config = loadConfig(service, schema, env, secrets);
      return { [SERVICE_CONFIG_KEY]: config };
    },
  });
  return {
    config: config!,
    module: {
      module: ServiceConfigModule,
      global: true,
      imports: [configModule],
      providers: [{ provide: schema, useFactory: (settings: ConfigService) => settings.getOrThrow<C>(SERVICE_CONFIG_KEY), inject: [ConfigService] }],
      exports: [schema],
    },
  };
}
