/** Small HTTP client for the services' read APIs; errors say which service did not answer. */
export class AgencyApi {
  constructor(
    readonly orchestratorUrl = process.env.AGENCY_ORCHESTRATOR_URL ?? 'http://127.0.0.1:7100',
    readonly registryUrl = process.env.AGENCY_REGISTRY_URL ?? 'http://127.0.0.1:7102',
    readonly gitServiceUrl = process.env.AGENCY_GIT_SERVICE_URL ?? 'http://127.0.0.1:7105',
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

export interface SagaSummary {
  frId: string;
  sagaId: string;
  title: string;
  state: string;
  step: string;
  attempt: number;
  round: number;
  tier?: string;
  prUrl?: string;
  costUsd: number;
  traceId: string;
  failure?: string;
  updatedAt: string;
}
