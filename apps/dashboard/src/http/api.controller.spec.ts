import { HttpException } from '@nestjs/common';
import { Clock } from '@agency/messaging';
import { DashboardConfig } from '../dashboard.config.js';
import type { EventFeedService } from '../events/event-feed.service.js';
import { FrViewService } from '../timeline/fr-view.service.js';
import { UpstreamUnavailableError, type AgencyApiClient, type Upstream, type UpstreamResponse } from '../upstream/agency-api.client.js';
import { ApiController } from './api.controller.js';

class FakeApi {
  calls: { method: string; upstream: Upstream; path: string; body?: unknown }[] = [];
  answers = new Map<string, UpstreamResponse | Error>();
  private answer(key: string): Promise<UpstreamResponse> {
    const a = this.answers.get(key);
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve(a ?? { status: 404, body: { message: `no ${key}` } });
  }
  get(upstream: Upstream, path: string) {
    this.calls.push({ method: 'GET', upstream, path });
    return this.answer(`GET ${upstream} ${path}`);
  }
  post(upstream: Upstream, path: string, body: unknown) {
    this.calls.push({ method: 'POST', upstream, path, body });
    return this.answer(`POST ${upstream} ${path}`);
  }
}

const feed = { stepCosts: () => new Map(), eventsOf: () => [], latest: () => [], caughtUp: true } as unknown as EventFeedService;
const summary = {
  frId: 'FR-1',
  sagaId: 'FR-1-r1',
  title: 'T',
  state: 'cancelled',
  step: 'code-r1',
  attempt: 1,
  round: 1,
  costUsd: 0,
  traceId: 'ab',
  updatedAt: '',
};

function controller(api: FakeApi): ApiController {
  const config = new DashboardConfig();
  return new ApiController(api as unknown as AgencyApiClient, new FrViewService(config, feed, new Clock()), feed, config);
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    return (e as HttpException).getStatus();
  }
}

describe('ApiController', () => {
  it('forwards an action to the orchestrator with who did it, and returns the new summary with links', async () => {
    const api = new FakeApi();
    api.answers.set('POST orchestrator /sagas/FR-1/cancel', { status: 200, body: { ...summary, prUrl: 'local://o/r/pulls/2' } });
    const out = await controller(api).act('FR-1', 'cancel', { comment: 'not needed' }, 'application/json');
    expect(api.calls).toEqual([
      { method: 'POST', upstream: 'orchestrator', path: '/sagas/FR-1/cancel', body: { by: 'dashboard', comment: 'not needed', reason: 'not needed' } },
    ]);
    expect(out.links).toEqual({ pr: '/forge/local/repos/o/r/pulls/2' });
  });

  it('refuses what is not JSON, unknown actions, bad FR ids and non-string fields before calling anyone', async () => {
    const api = new FakeApi();
    const c = controller(api);
    expect(await status(c.act('FR-1', 'approve', {}, 'application/x-www-form-urlencoded'))).toBe(415);
    expect(await status(c.act('FR-1', 'approve', {}, undefined))).toBe(415);
    expect(await status(c.act('FR-1', 'merge-everything', {}, 'application/json'))).toBe(400);
    expect(await status(c.act('../etc', 'approve', {}, 'application/json'))).toBe(400);
    expect(await status(c.act('FR-1', 'approve', { by: { admin: true } }, 'application/json'))).toBe(400);
    expect(await status(c.act('FR-1', 'approve', { comment: 'x'.repeat(2001) }, 'application/json'))).toBe(400);
    expect(api.calls).toEqual([]);
  });

  it("passes the orchestrator's refusal through, and answers 502 when it is down", async () => {
    const api = new FakeApi();
    api.answers.set('POST orchestrator /sagas/FR-1/approve', { status: 409, body: { statusCode: 409, message: 'approve is not allowed in state coding' } });
    api.answers.set('GET orchestrator /sagas/FR-2', new UpstreamUnavailableError('orchestrator', 'http://x/sagas/FR-2', 'ECONNREFUSED'));
    const c = controller(api);
    const refused = await c.act('FR-1', 'approve', {}, 'application/json').catch((e: HttpException) => e);
    expect((refused as HttpException).getStatus()).toBe(409);
    expect((refused as HttpException).getResponse()).toMatchObject({ message: 'approve is not allowed in state coding' });
    expect(await status(c.detail('FR-2'))).toBe(502);
  });

  it('builds the overview from what answers and names what does not', async () => {
    const api = new FakeApi();
    api.answers.set('GET orchestrator /sagas', {
      status: 200,
      body: { sagas: [summary, { ...summary, frId: 'FR-2', state: 'awaiting-merge' }, { ...summary, frId: 'FR-3', state: 'awaiting-merge' }] },
    });
    api.answers.set('GET registry /jobs', new UpstreamUnavailableError('registry', 'http://r/jobs', 'ETIMEDOUT'));
    const o = await controller(api).overview();
    expect(o.byState).toEqual({ cancelled: 1, 'awaiting-merge': 2 });
    expect(o.jobs).toEqual([]);
    expect(o.errors).toEqual({ registry: 'registry did not answer at http://r/jobs: ETIMEDOUT' });
    expect(o.live).toBe(true);
    expect(o.refused).toEqual([]);
  });

  it('passes on the FR files the intake refused, in the overview and the list', async () => {
    const api = new FakeApi();
    const refused = {
      frId: 'FR-9',
      path: '10_features/03_planned/FR-9-x.md',
      now: '10_features/09_blocked/FR-9-x.md',
      code: 'TOO_LARGE' as const,
      reason: 'the file is 2000000 bytes',
      at: '2026-11-24T09:00:00.000Z',
    };
    api.answers.set('GET orchestrator /sagas', { status: 200, body: { sagas: [summary], refused: [refused] } });
    api.answers.set('GET registry /jobs', { status: 200, body: { jobs: [] } });
    expect((await controller(api).overview()).refused).toEqual([refused]);
    expect((await controller(api).sagas()).refused).toEqual([refused]);
  });
});
