import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackProcess } from './services.js';

/**
 * What the local stack's child processes may take from the environment of the process that starts
 * them (a developer's shell, CI): an allowlist per child, so a secret the parent holds reaches only
 * the child that owns it, and an unrelated one (a cloud key, a registry token) reaches none.
 */

/** The platform: where programs, home, locale, temp space, certificates and proxies are. */
export const PLATFORM_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/** Settings every service reads (libs/config's ServiceConfig, telemetry); none is a secret. */
const COMMON_SETTING = /^(LC_[A-Z]+|LOG_LEVEL|BUS_[A-Z_]+|OTEL_[A-Z_]+|AGENCY_TRACE_FILE)$/;

/** Read by libraries rather than a configuration class: dockerode finds the engine with these. */
const LIBRARY_SETTINGS: Partial<Record<StackProcess, readonly string[]>> = {
  'agent-runner': ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'],
};

/** Settings the stack makes itself for each service (LocalStack.envFor), never taken from the parent. */
export const STACK_MADE_SETTINGS: readonly string[] = [
  'NATS_URL',
  'NATS_USER',
  'NATS_PASSWORD',
  'HTTP_PORT',
  'HTTP_HOST',
  'VAULT_PATH',
  'INSTANCE_ID',
  'STACK_ID',
  'WORK_DIR',
  'LLM_GATEWAY_URL',
  'LLM_GATEWAY_API_KEY',
  'GATEWAY_API_KEYS',
];

/** Model provider keys: conventionally `<VENDOR>_API_KEY`; agency.yaml's `api_key_env` may name others. */
const PROVIDER_KEY = /^[A-Z][A-Z0-9_]*_API_KEY$/;

export interface ServiceEnvOptions {
  /**
   * The variables the service's configuration class declares (`declaredSettings`): a person may
   * set any of them in the parent environment (`SANDBOX=process npm start`), the ones the stack
   * makes itself excepted. A service's own secrets are among them (git-service's GITHUB_TOKEN).
   */
  declared: readonly string[];
  /** Variables agency.yaml's providers name as `api_key_env`: the gateway's, and only the gateway's. */
  providerKeyVars?: readonly string[];
}

/** The part of the parent's environment one service may see. */
export function serviceParentEnv(service: StackProcess, parent: NodeJS.ProcessEnv, options: ServiceEnvOptions): Record<string, string> {
  const own = new Set([...options.declared.filter((k) => !STACK_MADE_SETTINGS.includes(k)), ...(LIBRARY_SETTINGS[service] ?? [])]);
  const providerKeys = new Set(options.providerKeyVars ?? []);
  const allowed = (k: string) =>
    PLATFORM_ENV.includes(k) ||
    COMMON_SETTING.test(k) ||
    own.has(k) ||
    (service === 'llm-gateway' && !STACK_MADE_SETTINGS.includes(k) && (PROVIDER_KEY.test(k) || providerKeys.has(k)));
  return pick(parent, allowed);
}

/**
 * The variables a built service's configuration declares, read from its compiled configuration
 * class (and libs/config's common one) under `rootDir/dist`: property names of decorated fields.
 * Derived from the code, so a new setting passes without a list to keep up to date.
 */
export function declaredSettings(rootDir: string, service: StackProcess): string[] {
  const files = [join(rootDir, 'dist', 'libs', 'config', 'src', 'base.config.js')];
  const appDir = join(rootDir, 'dist', 'apps', service, 'src');
  if (existsSync(appDir))
    files.push(
      ...readdirSync(appDir)
        .filter((f) => f.endsWith('.config.js'))
        .map((f) => join(appDir, f)),
    );
  const names = new Set<string>();
  for (const file of files.filter((f) => existsSync(f)))
    for (const m of readFileSync(file, 'utf8').matchAll(/prototype, "([A-Z][A-Z0-9_]*)"/g)) names.add(m[1]!);
  return [...names].sort();
}

/** nats-server needs nothing of the parent but where programs and the time zone are. */
export function natsServerParentEnv(parent: NodeJS.ProcessEnv): Record<string, string> {
  return pick(parent, (k) => k === 'PATH' || k === 'TZ');
}

/** The docker CLI (the quick start asks it whether the sandbox image exists): the engine's address and its own config. */
export function dockerCliParentEnv(parent: NodeJS.ProcessEnv): Record<string, string> {
  return pick(parent, (k) => ['PATH', 'HOME', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'].includes(k));
}

function pick(env: NodeJS.ProcessEnv, allowed: (key: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && allowed(k)) out[k] = v;
  return out;
}
