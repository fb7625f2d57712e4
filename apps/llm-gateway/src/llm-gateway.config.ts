import { Transform } from 'class-transformer';
import { IsIn, IsString, MinLength, registerDecorator, type ValidationOptions } from 'class-validator';
import { ServiceConfig } from '@agency/config';
import { ApiKeySet } from './auth/api-key-set.js';

/** Checks the parsed key set: present, at least one key, and no malformed entry. */
function IsApiKeySet(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isApiKeySet',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => value instanceof ApiKeySet && value.problems.length === 0 && value.ids.length > 0,
        defaultMessage: (args) => {
          const value = args?.value;
          const why = value instanceof ApiKeySet && value.problems.length > 0 ? `: ${value.problems.join('; ')}` : '';
          return `${propertyName} must be comma-separated id:secret pairs (e.g. agents:<secret>,cli:<secret>)${why}`;
        },
      },
    });
}

export class LlmGatewayConfig extends ServiceConfig {
  override HTTP_PORT = 7106;

  /** The vault whose 40_config/agency.yaml has the llm section (providers, aliases, prices). */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;

  /**
   * Keys callers present as `Authorization: Bearer <secret>`: `id:secret` pairs separated by
   * commas. Parsed at load so only the ids and sha256 hashes stay in memory; the id names the
   * caller in usage events and logs.
   */
  @Transform(({ value }) => (typeof value === 'string' ? ApiKeySet.parse(value) : value))
  @IsApiKeySet()
  GATEWAY_API_KEYS!: ApiKeySet;

  /**
   * "true" adds the prompt and the answer to each call's log line (and logs every call at info).
   * Off by default: prompts carry the repositories' code, and sometimes their secrets.
   */
  @IsIn(['true', 'false'], { message: 'LLM_LOG_PROMPTS must be "true" or "false"' })
  LLM_LOG_PROMPTS: 'true' | 'false' = 'false';
}

/** Variables whose values must never be printed, even when invalid. */
export const GATEWAY_SECRETS = ['GATEWAY_API_KEYS'] as const;
