import { Injectable } from '@nestjs/common';
import { DashboardConfig } from '../dashboard.config.js';

export type Upstream = 'orchestrator' | 'registry' | 'git-service';

/** An upstream answer as it came: the dashboard passes statuses and messages through. */
export interface UpstreamResponse<T = unknown> {
  status: number;
  body: T;
}

/** The upstream service did not answer (down, refused, timed out): the dashboard answers 502. */
export class UpstreamUnavailableError extends Error {
  constructor(
    readonly upstream: Upstream,
    readonly url: string,
    cause: string,
  ) {
    super(`${upstream} did not answer at ${url}: ${cause}`);
    this.name = 'UpstreamUnavailableError';
  }
}

/** HTTP to the orchestrator, the registry and git-service: the only place the dashboard calls them. */
@Injectable()
export class AgencyApiClient {
  private readonly bases: Record<Upstream, string>;

  constructor(private readonly config: DashboardConfig) {
    this.bases = {
      orchestrator: config.ORCHESTRATOR_URL.replace(/\/+$/, ''),
      registry: config.REGISTRY_URL.replace(/\/+$/, ''),
      'git-service': config.GIT_SERVICE_URL.replace(/\/+$/, ''),
    };
  }

  get<T>(upstream: Upstream, path: string): Promise<UpstreamResponse<T>> {
    return this.request<T>(upstream, 'GET', path);
  }

  post<T>(upstream: Upstream, path: string, body: unknown): Promise<UpstreamResponse<T>> {
    return this.request<T>(upstream, 'POST', path, body);
  }

  private async request<T>(upstream: Upstream, method: string, path: string, body?: unknown): Promise<UpstreamResponse<T>> {
    const url = `${this.bases[upstream]}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.UPSTREAM_TIMEOUT_MS),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      throw new UpstreamUnavailableError(upstream, url, err.cause?.code ?? err.message);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // a plain-text answer stays text
    }
    return { status: res.status, body: parsed as T };
  }
}
