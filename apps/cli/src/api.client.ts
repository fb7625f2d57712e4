import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Small HTTP client for the services' APIs; errors say which service did not answer. */
export class AgencyApi {
  constructor(
    readonly orchestratorUrl = process.env.AGENCY_ORCHESTRATOR_URL ?? runningStack()?.services.orchestrator ?? 'http://127.0.0.1:7100',
    readonly registryUrl = process.env.AGENCY_REGISTRY_URL ?? runningStack()?.services.registry ?? 'http://127.0.0.1:7102',
    readonly gitServiceUrl = process.env.AGENCY_GIT_SERVICE_URL ?? runningStack()?.services['git-service'] ?? 'http://127.0.0.1:7105',
  ) {}

  async get<T>(base: string, path: string): Promise<T> {
    return this.request<T>('GET', base, path);
  }

  async post<T>(base: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', base, path, body);
  }

  private async request<T>(method: string, base: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
