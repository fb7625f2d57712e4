import type { Octokit } from '@octokit/rest';
import { context, SpanKind, SpanStatusCode, trace, tracer } from '@agency/telemetry';

/**
 * Every GitHub API request as a CLIENT span named as OpenTelemetry's HTTP conventions say,
 * `{method} {url.template}` (`GET /repos/{owner}/{repo}/pulls`: the template, so names stay few),
 * with the status GitHub answered. The URL's values and the token are not in it. A 304 (nothing
 * new) or a 404 the caller expects is an answer, not an error of the span.
 */
export function traceRequests(octokit: Octokit, baseUrl: string): void {
  const server = new URL(baseUrl);
  octokit.hook.wrap('request', async (request, options) => {
    const method = String(options.method ?? 'GET').toUpperCase();
    const template = String(options.url ?? '');
    const attributes = {
      'http.request.method': method,
      'url.template': template,
      'server.address': server.hostname,
      'server.port': Number(server.port || (server.protocol === 'https:' ? 443 : 80)),
    };
    const parent = context.active();
    const span = tracer().startSpan(`${method} ${template}`, { kind: SpanKind.CLIENT, attributes }, parent);
    try {
      const response = await context.with(trace.setSpan(parent, span), () => request(options));
      span.setAttribute('http.response.status_code', response.status);
      return response;
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      if (status === undefined || status >= 500 || status === 401 || status === 403 || status === 429) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: status === undefined ? (e as Error).name : String(status) });
        span.setAttribute('error.type', status === undefined ? (e as Error).name : String(status));
      }
      throw e;
    } finally {
      span.end();
    }
  });
}
