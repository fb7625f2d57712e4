import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Messages } from '@agency/contracts';
import { configureService } from '@agency/bootstrap';
import { BusConnection, BusPublisher, Clock, ensureStreams } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { expectEventually, freePort, startNatsServer, type NatsServerHandle } from '@agency/testing';
import { createDashboardApp, type RunningDashboard } from '../src/bootstrap/run-dashboard.js';
import { DashboardConfig } from '../src/dashboard.config.js';

// A real HTTP server answering as the orchestrator, the registry and git-service would (their
// routes and shapes), so the dashboard is tested over real HTTP and real NATS.
const saga = {
  sagaId: 'FR-001-r1',
  frId: 'FR-001',
  run: 1,
  state: 'awaiting-merge',
  step: 'merge',
  attempt: 1,
  round: 1,
  fr: { title: 'Add a farewell function', priority: 'medium', repo: 'example/greeter' },
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  strategy: { tier: 'small' },
  pr: { number: 1, url: 'local://example/greeter/pulls/1', draft: false },
  costUsd: 0.0123,
  history: [
    { at: '2026-01-01T00:00:01.000Z', from: 'discovered', to: 'routed' },
    { at: '2026-01-01T00:00:02.000Z', from: 'routed', to: 'queued' },
    { at: '2026-01-01T00:00:03.000Z', from: 'queued', to: 'planning' },
    { at: '2026-01-01T00:00:13.000Z', from: 'planning', to: 'coding' },
    { at: '2026-01-01T00:00:43.000Z', from: 'coding', to: 'testing' },
    { at: '2026-01-01T00:00:50.000Z', from: 'testing', to: 'reviewing' },
    { at: '2026-01-01T00:00:55.000Z', from: 'reviewing', to: 'opening-pr' },
    { at: '2026-01-01T00:00:57.000Z', from: 'opening-pr', to: 'awaiting-merge' },
  ],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:57.000Z',
};
const summary = {
  frId: 'FR-001',
  sagaId: 'FR-001-r1',
  title: saga.fr.title,
  state: 'awaiting-merge',
  step: 'merge',
  attempt: 1,
  round: 1,
  tier: 'small',
  prUrl: saga.pr.url,
  costUsd: 0.0123,
  traceId: saga.traceId,
  updatedAt: saga.updatedAt,
};
const job = {
  jobId: 'job-FR-001-r1',
  frId: 'FR-001',
  sagaId: 'FR-001-r1',
  repo: 'example/greeter',
  priority: 'medium',
  tier: 'small',
  state: 'running',
  enqueuedAt: '2026-01-01T00:00:02.000Z',
  dispatches: 1,
};

interface Received {
  method: string;
  url: string;
  body: unknown;
}

function upstreamServer(received: Received[]): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body: data ? JSON.parse(data) : undefined });
      const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const route = `${req.method} ${req.url}`;
      if (route === 'GET /sagas') return send(200, { sagas: [summary] });
      if (route === 'GET /sagas/FR-001') return send(200, saga);
      if (route === 'GET /jobs') return send(200, { jobs: [job] });
      if (route === 'POST /sagas/FR-001/approve') return send(201, { ...summary, state: 'done', step: 'done' });
      if (route === 'POST /sagas/FR-001/retry')
        return send(409, { statusCode: 409, message: 'retry is only possible for a failed or blocked FR (it is awaiting-merge)' });
      if (route === 'GET /forge/local/repos/example/greeter/pulls/1')
        return send(200, { number: 1, branch: 'agency/FR-001-add-a-farewell-function', state: 'open' });
      return send(404, { statusCode: 404, message: `no route ${route}` });
    });
  });
}

/** Reads a server-sent-event stream into a list of {event, data}. */
function followSse(url: string): { events: { event: string; data: string }[]; close(): void } {
  const events: { event: string; data: string }[] = [];
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
        events.push({ event, data });
      }
    }
  })().catch(() => undefined);
  return { events, close: () => abort.abort() };
}

describe('dashboard over real NATS and HTTP', () => {
  let nats: NatsServerHandle;
  let bus: BusConnection;
  let publisher: BusPublisher;
  let upstream: Server;
  let dashboard: RunningDashboard;
  const received: Received[] = [];
  // One event per model call, each with its own message id, as the gateway publishes them.
  const usage = (step: string, costUsd: number) =>
    publisher.publish(
      Messages.LlmUsage,
      {
        frId: 'FR-001',
        sagaId: 'FR-001-r1',
        step,
        attempt: 1,
        payload: {
          alias: 'coder',
          provider: 'scripted',
          model: 'scripted/coder',
          inputTokens: 1000,
          cachedInputTokens: 0,
          outputTokens: 200,
          costUsd,
          latencyMs: 12,
          status: 'ok',
        },
      },
      { msgId: `llm-usage:${crypto.randomUUID()}` },
    );

  beforeAll(async () => {
    nats = await startNatsServer();
    bus = await BusConnection.connect({ servers: nats.url, name: 'dashboard-medium' });
    await ensureStreams(bus.jsm);
    publisher = new BusPublisher(bus, new Clock());
    // Before the dashboard starts: it must find these by replaying the stream.
    await usage('plan', 0.004);
    await usage('code-r1', 0.006);
    await usage('code-r1', 0.002);
    upstream = upstreamServer(received);
    const upstreamPort = await freePort();
    await new Promise<void>((r) => upstream.listen(upstreamPort, '127.0.0.1', r));
    const base = `http://127.0.0.1:${upstreamPort}`;
    const configured = await configureService('dashboard', DashboardConfig, {
      NATS_URL: nats.url,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      ORCHESTRATOR_URL: base,
      REGISTRY_URL: base,
      GIT_SERVICE_URL: base,
      TRACE_URL_TEMPLATE: 'http://jaeger.local:16686/trace/{traceId}',
    });
    dashboard = await createDashboardApp(configured, createLogger({ service: 'dashboard', level: 'warn' }));
  });

  afterAll(async () => {
    await dashboard?.close();
    await bus?.close();
    if (upstream) await new Promise((r) => upstream.close(r));
    await nats?.dispose();
  });

  const get = async (path: string) => {
    const res = await fetch(`${dashboard.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('is ready once it has replayed the event stream', async () => {
    await expectEventually(async () =>
      expect((await get('/health/ready')).body).toMatchObject({ status: 'ok', details: { nats: { status: 'up' }, events: { status: 'up' } } }),
    );
    expect((await get('/health/live')).status).toBe(200);
    const metrics = await (await fetch(`${dashboard.url}/metrics`)).text();
    expect(metrics).toMatch(/agency_dashboard_events_total\{type="llm-gateway.usage",service="dashboard"\} 3/);
  });

  it("shows an FR's timeline with each step's duration and its model cost, and links to the PR and the trace", async () => {
    const { status, body } = await get('/api/sagas/FR-001');
    expect(status).toBe(200);
    const rows = (body.timeline as { rows: { state: string; step: string; durationMs: number; costUsd: number; modelCalls: number }[] }).rows;
    expect(rows.map((r) => r.state)).toEqual(['discovered', 'routed', 'queued', 'planning', 'coding', 'testing', 'reviewing', 'opening-pr', 'awaiting-merge']);
    expect(rows.find((r) => r.step === 'plan')).toMatchObject({ durationMs: 10_000, costUsd: 0.004, modelCalls: 1 });
    expect(rows.find((r) => r.step === 'code-r1')).toMatchObject({ durationMs: 30_000, costUsd: 0.008, modelCalls: 2 });
    expect(body.links).toEqual({ pr: '/forge/local/repos/example/greeter/pulls/1', trace: `http://jaeger.local:16686/trace/${saga.traceId}` });
    // The PR link opens through the dashboard, from git-service.
    expect((await get('/forge/local/repos/example/greeter/pulls/1')).body).toMatchObject({ number: 1, state: 'open' });
    expect((await get('/api/sagas/FR-404')).status).toBe(404);
  });

  it('gives the FRs by state and the queue in one overview', async () => {
    const { body } = await get('/api/overview');
    expect(body).toMatchObject({ byState: { 'awaiting-merge': 1 }, jobs: [job], live: true, errors: {} });
    expect((body.sagas as { links: unknown }[])[0]!.links).toEqual({
      pr: '/forge/local/repos/example/greeter/pulls/1',
      trace: `http://jaeger.local:16686/trace/${saga.traceId}`,
    });
    expect((body.events as unknown[]).length).toBe(3);
  });

  it('streams live events to the browser as server-sent events', async () => {
    const sse = followSse(`${dashboard.url}/api/events`);
    try {
      await expectEventually(() => expect(sse.events.map((e) => e.event)).toContain('hello'));
      await publisher.publish(Messages.FrStateChanged, {
        frId: 'FR-001',
        sagaId: 'FR-001-r1',
        step: 'merge',
        attempt: 1,
        payload: { from: 'opening-pr', to: 'awaiting-merge', costUsd: 0.0123, traceId: saga.traceId },
      });
      const live = await expectEventually(() => {
        const e = sse.events.find((x) => x.event === 'agency');
        expect(e).toBeDefined();
        return JSON.parse(e!.data) as Record<string, unknown>;
      });
      expect(live).toMatchObject({ type: 'orchestrator.fr-state-changed', frId: 'FR-001', step: 'merge', summary: 'opening-pr -> awaiting-merge' });
    } finally {
      sse.close();
    }
  });

  it("steers through the orchestrator: the person's action goes through, a refusal comes back with its reason", async () => {
    const post = (path: string, body: unknown, contentType = 'application/json') =>
      fetch(`${dashboard.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const ok = await post('/api/sagas/FR-001/approve', { comment: 'looks right', by: 'ada' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ frId: 'FR-001', state: 'done' });
    expect(received.find((r) => r.method === 'POST' && r.url === '/sagas/FR-001/approve')?.body).toEqual({ by: 'ada', comment: 'looks right' });

    const refused = await post('/api/sagas/FR-001/retry', {});
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ message: 'retry is only possible for a failed or blocked FR (it is awaiting-merge)' });

    const form = await post('/api/sagas/FR-001/approve', 'by=mallory', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    expect(received.filter((r) => r.method === 'POST')).toHaveLength(2);
  });

  it('serves the page and its script with a strict content security policy', async () => {
    const page = await fetch(`${dashboard.url}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/assets/app/main.js"></script>');
    const js = await fetch(`${dashboard.url}/assets/app/main.js`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(await js.text()).toMatch(/^import \{ main \} from '\.\/app\.js';/m);
    // The modules it imports, compiled from TypeScript (no type left), and nothing outside the folder.
    const app = await (await fetch(`${dashboard.url}/assets/app/app.js`)).text();
    expect(app).toContain('export function renderDetail(');
    expect(app).not.toMatch(/: HTMLElement|import type/);
    expect((await fetch(`${dashboard.url}/assets/app/..%2Fdashboard.module.js`)).status).toBe(404);
    expect((await fetch(`${dashboard.url}/assets/app/nothing.js`)).status).toBe(404);
    // The saga's rules and the API's shapes come from the contracts' browser entry, served beside the page's modules.
    expect(app).toContain("from '/assets/contracts/browser.js'");
    const entry = await fetch(`${dashboard.url}/assets/contracts/browser.js`);
    expect(entry.headers.get('content-type')).toContain('text/javascript');
    expect(await entry.text()).toMatch(/^export \* from '\.\/saga-rules\.js';$/m);
    expect(await (await fetch(`${dashboard.url}/assets/contracts/saga-rules.js`)).text()).toContain('export function allowedActions(');
    // Message classes need class-validator, which a browser cannot load: refused, not served to fail in the page.
    const node = await fetch(`${dashboard.url}/assets/contracts/validate.js`);
    expect(node.status).toBe(404);
    expect(await node.json()).toMatchObject({ message: expect.stringContaining('which a browser cannot load') });
  });

  it('shuts down promptly with a browser still following the live stream', async () => {
    const sse = followSse(`${dashboard.url}/api/events`);
    await expectEventually(() => expect(sse.events.length).toBeGreaterThan(0));
    const started = Date.now();
    await dashboard.close();
    expect(Date.now() - started).toBeLessThan(5000);
    sse.close();
  });
});
