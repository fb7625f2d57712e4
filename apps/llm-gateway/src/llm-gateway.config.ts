import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, registerDecorator, ValidateIf, type ValidationOptions } from 'class-validator';
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

  /** The vault whose 40_config/agency.yaml has the llm section (providers, aliases, prices); not needed with LLM_CONFIG_FILE. */
  @ValidateIf((c: LlmGatewayConfig) => c.LLM_CONFIG_FILE === undefined)
  @Matches(/\S/, { message: 'VAULT_PATH must be set, unless LLM_CONFIG_FILE names the file with the llm section' })
  VAULT_PATH?: string;

  /**
   * A YAML file whose `llm:` section configures the gateway, for running it without the agency
   * (only that section is read); relative paths in it resolve from its folder. Wins over VAULT_PATH.
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  LLM_CONFIG_FILE?: string;

  /**
   * Keys callers present as `Authorization: Bearer <secret>`: `id:secret` pairs separated by
   * commas. Parsed at load so only the ids and sha256 hashes stay in memory; the id names the
   * caller in usage events and logs.
   */
  @Transform(({ value }) => (typeof value === 'string' ? ApiKeySet.parse(value) : value))
  @IsApiKeySet()
  GATEWAY_API_KEYS!: ApiKeySet;

  /**
   * Where the gateway keeps what the bus has not stored yet when it stops (spend not yet written
   * to the budget bucket), to write it at the next start. Unset: such spend is lost with the process.
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  WORK_DIR?: string;

  /**
   * Milliseconds a shutdown waits for spend and usage events the bus has not taken yet (a NATS
   * outage), retrying them throughout, before keeping what is left in WORK_DIR. Keep it below the
   * time the process is given to stop (Kubernetes: terminationGracePeriodSeconds), or the kill
   * comes first and what is unwritten is lost. 0 spools at once.
   */
  @Type(() => Number)
  @IsInt({ message: 'SHUTDOWN_FLUSH_MS must be a whole number of milliseconds' })
  @Min(0, { message: 'SHUTDOWN_FLUSH_MS must not be negative' })
  @Max(3_600_000, { message: 'SHUTDOWN_FLUSH_MS must be at most 3600000 (an hour)' })
  SHUTDOWN_FLUSH_MS: number = 5_000;

  /**
   * "true" adds the prompt and the answer to each call's log line (and logs every call at info).
   * Off by default: prompts carry the repositories' code, and sometimes their secrets.
   */
  @IsIn(['true', 'false'], { message: 'LLM_LOG_PROMPTS must be "true" or "false"' })
  LLM_LOG_PROMPTS: 'true' | 'false' = 'false';
}

/** Variables whose values must never be printed, even when invalid. */
export const GATEWAY_SECRETS = ['GATEWAY_API_KEYS'] as const;
