import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POLL_HEADER } from '@agency/contracts';
import { AgencyApi, cliBusOptions, serviceUrl } from './api.client.js';

describe('AgencyApi errors', () => {
  const api = new AgencyApi('http://orchestrator.test', 'http://registry.test', 'http://git.test');
  const respond = (status: number, body: string) =>
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(body, { status })),
    );

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('names the service that did not answer and how to start it', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('fetch failed');
      }),
    );
    await expect(api.get(api.orchestratorUrl, '/sagas')).rejects.toThrow(
      'cannot reach http://orchestrator.test (fetch failed); is the agency running? (npm start)',
    );
  });

  it("carries the service's own reason from a JSON error body, with the method, path and status", async () => {
    respond(404, JSON.stringify({ statusCode: 404, message: 'no saga for FR-404: the agency has not taken it', error: 'Not Found' }));
    await expect(api.post(api.orchestratorUrl, '/sagas/FR-404/approve', { by: 'me' })).rejects.toThrow(
      'POST /sagas/FR-404/approve: 404 no saga for FR-404: the agency has not taken it',
    );
  });

  it('passes a plain-text error body through', async () => {
    respond(502, 'Bad Gateway');
    await expect(api.get(api.registryUrl, '/jobs')).rejects.toThrow('GET /jobs: 502 Bad Gateway');
  });

  it('uses the whole JSON body when it has no message', async () => {
    respond(409, '{"reason":"busy"}');
    await expect(api.post(api.orchestratorUrl, '/sagas/FR-1/retry')).rejects.toThrow('POST /sagas/FR-1/retry: 409 {"reason":"busy"}');
  });

  it('sends JSON bodies and reads JSON (or nothing) back', async () => {
    const fetch = vi.fn(async (_url: string, _init: RequestInit) => new Response('{"ok":true}', { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    expect(await api.post(api.registryUrl, '/jobs/dispatch/pause', { by: 'me' })).toEqual({ ok: true });
    expect(fetch.mock.calls[0]![0]).toBe('http://registry.test/jobs/dispatch/pause');
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"by":"me"}' });
    fetch.mockResolvedValueOnce(new Response('', { status: 200 }));
    expect(await api.get(api.orchestratorUrl, '/x')).toBeUndefined();
  });
});

describe('AgencyApi polls', () => {
  const seen: Array<{ method?: string; headers: IncomingHttpHeaders }> = [];
  let server: Server;
  let base = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method, headers: req.headers });
      res.setHeader('content-type', 'application/json').end('{"sagas":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('marks a read repeated to watch state as a poll, so the service neither traces nor logs it, and no other request', async () => {
    const api = new AgencyApi(base, base, base);
    expect(await api.get(base, '/sagas', { poll: true })).toEqual({ sagas: [] });
    await api.get(base, '/sagas');
    await api.post(base, '/sagas/FR-1/approve', { by: 'me' });
    expect(seen.map((r) => [r.method, r.headers[POLL_HEADER]])).toEqual([
      ['GET', '1'],
      ['GET', undefined],
      ['POST', undefined],
    ]);
  });
});

describe('serviceUrl: which agency the CLI asks', () => {
  const stack = { natsUrl: 'nats://127.0.0.1:4999', services: { orchestrator: 'http://127.0.0.1:7330' } };

  it("takes the URL variable first, then the running stack's, then the default port", () => {
    expect(serviceUrl('orchestrator', { AGENCY_ORCHESTRATOR_URL: 'http://o.test' }, stack)).toBe('http://o.test');
    expect(serviceUrl('orchestrator', {}, stack)).toBe('http://127.0.0.1:7330');
    expect(serviceUrl('registry', {}, undefined)).toBe('http://127.0.0.1:7102');
  });

  it('says the stack of AGENCY_RUN_DIR is not running instead of asking whatever agency holds the default port', () => {
    expect(() => serviceUrl('orchestrator', { AGENCY_RUN_DIR: '/tmp/gone-run' }, undefined)).toThrow(
      /the stack of .* is not running \(no stack\.json there\): start it with agency up, or set AGENCY_ORCHESTRATOR_URL/,
    );
    expect(serviceUrl('orchestrator', { AGENCY_RUN_DIR: '/tmp/gone-run', AGENCY_ORCHESTRATOR_URL: 'http://o.test' }, undefined)).toBe('http://o.test');
  });
});

describe('cliBusOptions: where and as whom `agency logs` connects to NATS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-bus-'));
  const file = join(dir, 'nats-cli.json');
  writeFileSync(file, JSON.stringify({ user: 'cli', password: 'pw-from-stack' }));
  const stack = { natsUrl: 'nats://127.0.0.1:4999', natsCredentialsFile: file, services: {} };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("takes the running stack's URL and the CLI's own credentials from its 0600 file", () => {
    expect(cliBusOptions({}, stack)).toEqual({ servers: 'nats://127.0.0.1:4999', user: 'cli', password: 'pw-from-stack' });
  });

  it('prefers NATS_URL, NATS_USER and NATS_PASSWORD from the environment (a k3s install through a port-forward)', () => {
    expect(cliBusOptions({ NATS_URL: 'nats://127.0.0.1:4222', NATS_USER: 'cli', NATS_PASSWORD: 'pw-env' }, stack)).toEqual({
      servers: 'nats://127.0.0.1:4222',
      user: 'cli',
      password: 'pw-env',
    });
    expect(cliBusOptions({ NATS_USER: 'cli', NATS_PASSWORD: 'pw-env' }, stack)).toEqual({ servers: 'nats://127.0.0.1:4999', user: 'cli', password: 'pw-env' });
  });

  it('connects without credentials to a stack or server without users', () => {
    expect(cliBusOptions({}, { natsUrl: 'nats://127.0.0.1:4999', services: {} })).toEqual({ servers: 'nats://127.0.0.1:4999' });
    expect(cliBusOptions({}, undefined)).toEqual({ servers: 'nats://127.0.0.1:4222' });
  });
});
