import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerCliParentEnv, natsServerParentEnv, PLATFORM_ENV, serviceParentEnv, STACK_MADE_SETTINGS } from './child-env.js';
import { LocalStack } from './local-stack.js';
import { STACK_SERVICES, type StackService } from './services.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Secret-looking variables a developer's shell may hold, and the one child each belongs to (none: nobody). */
const SECRETS: Record<string, StackService | undefined> = {
  GITHUB_TOKEN: 'git-service',
  GITHUB_WEBHOOK_SECRET: 'git-service',
  OPENAI_API_KEY: 'llm-gateway',
  ANTHROPIC_API_KEY: 'llm-gateway',
  MISTRAL_API_KEY: 'llm-gateway',
  // Named by an agency.yaml provider's api_key_env.
  VENDOR_TOKEN: 'llm-gateway',
  // The stack makes its own gateway keys and NATS credentials: the parent's never pass.
  LLM_GATEWAY_API_KEY: undefined,
  GATEWAY_API_KEYS: undefined,
  NATS_USER: undefined,
  NATS_PASSWORD: undefined,
  GH_TOKEN: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  NPM_TOKEN: undefined,
  DOCKER_AUTH_CONFIG: undefined,
  NODE_OPTIONS: undefined,
};
/** What each configuration class declares, read from the sources (declaredSettings reads the same from dist). */
const declaredIn = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^\s+(?:override\s+)?([A-Z][A-Z0-9_]+)[!?]?\s*[:=]/gm)].map((m) => m[1]!);
const COMMON = declaredIn(join(ROOT, 'libs', 'config', 'src', 'base.config.ts'));
function declared(service: StackService): string[] {
  const dir = join(ROOT, 'apps', service, 'src');
  return [
    ...COMMON,
    ...declaredIn(
      join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('.config.ts'))!,
      ),
    ),
  ];
}

const canary = (name: string) => `canary-${name.toLowerCase()}-7f3a`;
const parent: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.keys(SECRETS).map((k) => [k, canary(k)])),
  PATH: '/usr/bin',
  HOME: '/home/dev',
  LANG: 'C.UTF-8',
  LOG_LEVEL: 'debug',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
  SANDBOX: 'process',
  SCAN_INTERVAL_MS: '1000',
};

describe('what the local stack passes from its parent environment', () => {
  it.each(STACK_SERVICES)('%s gets its own secrets and settings, and nothing else secret', (service) => {
    const env = serviceParentEnv(service, parent, { declared: declared(service), providerKeyVars: ['VENDOR_TOKEN'] });
    for (const [name, owner] of Object.entries(SECRETS)) expect(env[name], `${service} ${name}`).toBe(owner === service ? canary(name) : undefined);
    expect(env).toMatchObject({ PATH: '/usr/bin', HOME: '/home/dev', LANG: 'C.UTF-8', LOG_LEVEL: 'debug', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' });
    expect(env.SANDBOX).toBe(service === 'agent-runner' ? 'process' : undefined);
    expect(env.SCAN_INTERVAL_MS).toBe(service === 'orchestrator' ? '1000' : undefined);
  });

  it('gives nats-server only PATH and TZ', () => {
    expect(natsServerParentEnv({ ...parent, TZ: 'UTC' })).toEqual({ PATH: '/usr/bin', TZ: 'UTC' });
  });

  it('gives the docker CLI the engine address and its config, nothing secret', () => {
    expect(dockerCliParentEnv({ ...parent, DOCKER_HOST: 'unix:///run/docker.sock' })).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/dev',
      DOCKER_HOST: 'unix:///run/docker.sock',
    });
  });

  it('lets through every setting a service declares except those the stack makes, and the stack sets only declared ones', () => {
    const stack = new LocalStack({ runDir: '/run', vaultPath: '/vault', rootDir: ROOT });
    const problems: string[] = [];
    for (const service of STACK_SERVICES) {
      const names = declared(service);
      for (const name of names) {
        const passes = serviceParentEnv(service, { [name]: 'x' }, { declared: names })[name] === 'x';
        if (passes === STACK_MADE_SETTINGS.includes(name))
          problems.push(`${service} ${name}: ${passes ? 'taken from the parent, but the stack makes it' : 'neither passed nor made by the stack'}`);
      }
      for (const name of Object.keys(stack.envFor(service)))
        if (!names.includes(name) && name !== 'AGENCY_TRACE_FILE')
          problems.push(`the stack sets ${name} for ${service}, which its configuration does not declare`);
    }
    expect(problems).toEqual([]);
  });

  it('passes no variable that is neither the platform nor a setting (an editor, an SSH agent, a kubeconfig)', () => {
    expect(
      serviceParentEnv(
        'registry',
        { EDITOR: 'vim', SSH_AUTH_SOCK: '/tmp/agent', KUBECONFIG: '/k', ...Object.fromEntries(PLATFORM_ENV.map((k) => [k, 'v'])) },
        { declared: declared('registry') },
      ),
    ).toEqual(Object.fromEntries(PLATFORM_ENV.map((k) => [k, 'v'])));
  });
});
