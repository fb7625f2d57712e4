import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLL_HEADER } from '@agency/contracts';
import { defaultRunDir } from './paths.js';

export interface StackState {
  natsUrl: string;
  /** The CLI's NATS user and password when the stack's nats-server requires them (a 0600 file). */
  natsCredentialsFile?: string;
  services: Record<string, string>;
  /** The gateway's OpenAI base URL and the 0600 file with the stack's own key. */
  gateway?: { url: string; keyFile: string };
}

/** What `agency up` wrote about the stack it runs (URLs of NATS and the services), if any. */
export function runningStack(): StackState | undefined {
  const file = join(defaultRunDir(), 'stack.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StackState) : undefined;
}

/**
 * Where and as whom the CLI connects to NATS: NATS_URL, NATS_USER and NATS_PASSWORD from the
 * environment, else the stack `agency up` runs (its URL and the CLI's own credentials).
 */
export function cliBusOptions(
  env: NodeJS.ProcessEnv = process.env,
  stack: StackState | undefined = runningStack(),
): { servers: string; user?: string; password?: string } {
  if (env.NATS_URL) return { servers: env.NATS_URL, user: env.NATS_USER, password: env.NATS_PASSWORD };
  const servers = stack?.natsUrl ?? 'nats://127.0.0.1:4222';
  if (env.NATS_USER) return { servers, user: env.NATS_USER, password: env.NATS_PASSWORD };
  if (stack?.natsCredentialsFile && existsSync(stack.natsCredentialsFile)) {
    const c = JSON.parse(readFileSync(stack.natsCredentialsFile, 'utf8')) as { user: string; password: string };
    return { servers, user: c.user, password: c.password };
  }
  return { servers };
}

type ServiceName = 'orchestrator' | 'registry' | 'git-service';
const URL_VARIABLES: Record<ServiceName, string> = {
  orchestrator: 'AGENCY_ORCHESTRATOR_URL',
  registry: 'AGENCY_REGISTRY_URL',
  'git-service': 'AGENCY_GIT_SERVICE_URL',
};
const DEFAULT_URLS: Record<ServiceName, string> = {
  orchestrator: 'http://127.0.0.1:7100',
  registry: 'http://127.0.0.1:7102',
  'git-service': 'http://127.0.0.1:7105',
};

/**
 * Where the CLI asks a service: its URL variable, else the stack `agency up` runs, else the
 * default port. With AGENCY_RUN_DIR naming a run whose stack has stopped, no default: the
 * default port may belong to another agency, which would answer for the wrong FRs.
 */
export function serviceUrl(service: ServiceName, env: NodeJS.ProcessEnv = process.env, stack: StackState | undefined = runningStack()): string {
  const own = env[URL_VARIABLES[service]];
  if (own) return own;
  const running = stack?.services[service];
  if (running) return running;
  if (env.AGENCY_RUN_DIR) {
    throw new Error(`the stack of ${defaultRunDir()} is not running (no stack.json there): start it with agency up, or set ${URL_VARIABLES[service]}`);
  }
  return DEFAULT_URLS[service];
}

/** Small HTTP client for the services' APIs; errors say which service did not answer. */
export class AgencyApi {
  constructor(
    readonly orchestratorUrl = serviceUrl('orchestrator'),
    readonly registryUrl = serviceUrl('registry'),
    readonly gitServiceUrl = serviceUrl('git-service'),
  ) {}

  /** With `poll`, a read repeated only to watch state: the service leaves no trace or info line for it (POLL_HEADER). */
  async get<T>(base: string, path: string, options: { poll?: boolean } = {}): Promise<T> {
    return this.request<T>('GET', base, path, undefined, options.poll ? { [POLL_HEADER]: '1' } : {});
  }

  async post<T>(base: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', base, path, body);
  }

  private async request<T>(method: string, base: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      throw new Error(`cannot reach ${base} (${(e as Error).message}); is the agency running? (npm start)`);
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // plain text error
      }
      throw new Error(`${method} ${path}: ${res.status} ${message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

export type { SagaSummary } from '@agency/contracts';
