import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { BASE_SECRETS } from './base.config.js';

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `raw` is the environment as given: a value that failed conversion (NaN for "abc") is shown as written. */
function describe(errors: ValidationError[], raw: Record<string, string>, out: string[]): string[] {
  for (const e of errors) {
    const given = raw[e.property] ?? e.value;
    // A URL's user:password part (nats://user:secret@host) is never echoed.
    const shown = given === undefined ? 'it is not set' : `got ${JSON.stringify(given).replace(/(\/\/)[^/@\s,"]+@/g, '$1***@')}`;
    for (const text of Object.values(e.constraints ?? {})) out.push(`${e.property}: ${text} (${shown})`);
    if (e.children?.length) describe(e.children, {}, out);
  }
  return out;
}

/**
 * Builds a service's configuration from environment variables. The schema is a class whose
 * property names are the variable names; class-validator checks them and class-transformer
 * converts types (@Type(() => Number)). Empty strings count as unset. Throws a ConfigError that
 * names every bad or missing variable, without printing secret values (`secrets`, and BASE_SECRETS
 * such as NATS_PASSWORD, always).
 */
export function loadConfig<T extends object>(service: string, schema: new () => T, env: NodeJS.ProcessEnv = process.env, secrets: readonly string[] = []): T {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') raw[k] = v;
  const instance = plainToInstance(schema, raw, { excludeExtraneousValues: false, exposeDefaultValues: true });
  const errors = validateSync(instance, { whitelist: true, forbidUnknownValues: true, validationError: { target: false } });
  if (errors.length > 0) {
    const problems = describe(errors, raw, []).map((p) => {
      const name = p.split(':')[0]!;
      return secrets.includes(name) || (BASE_SECRETS as readonly string[]).includes(name) ? p.replace(/\(got .*\)$/, '(value hidden)') : p;
    });
    throw new ConfigError(service, problems);
  }
  // whitelist has dropped the rest of the environment: only declared variables remain.
  return instance;
}
