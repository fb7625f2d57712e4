import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpException,
  Param,
  Post,
  Sse,
  UnsupportedMediaTypeException,
  type MessageEvent,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import {
  SAGA_ACTIONS,
  type DashboardFrDetail,
  type DashboardOverview,
  type DashboardSaga,
  type DashboardSagaList,
  type PullRequestView,
  type QueuedJobView,
  type SagaActionRequest,
  type SagaAction,
  type RefusedFrSummary,
  type SagaRecordView,
  type SagaSummary,
} from '@agency/contracts';
import { DashboardConfig } from '../dashboard.config.js';
import { EventFeedService } from '../events/event-feed.service.js';
import { FrViewService } from '../timeline/fr-view.service.js';
import { AgencyApiClient, UpstreamUnavailableError, type Upstream, type UpstreamResponse } from '../upstream/agency-api.client.js';

const FR_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const PING_MS = 15_000;

/** The request's body as it arrives: each field is checked before it is forwarded. */
export type ActionBody = { [K in keyof SagaActionRequest]?: unknown };

/** GET /sagas of the orchestrator (`refused` may be missing from an older one). */
interface SagaListing {
  sagas: SagaSummary[];
  refused?: RefusedFrSummary[];
}

/** GET /jobs of the registry. */
interface JobListing {
  jobs: QueuedJobView[];
}

function isAction(action: string): action is SagaAction {
  return (SAGA_ACTIONS as readonly string[]).includes(action);
}

export function checkFrId(frId: string): string {
  if (!FR_ID.test(frId)) throw new BadRequestException(`'${frId}' is not an FR id (e.g. FR-001)`);
  return frId;
}

function text(v: unknown, name: string, max: number): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new BadRequestException(`${name} must be a string`);
  if (v.length > max) throw new BadRequestException(`${name} is longer than ${max} characters`);
  return v;
}

function messageOf(e: unknown): string {
  if (e instanceof HttpException) {
    const r = e.getResponse();
    return typeof r === 'object' && r !== null && typeof (r as { message?: unknown }).message === 'string' ? (r as { message: string }).message : e.message;
  }
  return (e as Error).message ?? String(e);
}

/** Throws the upstream's own status and message when it refused (404, 409...), 502 when it did not answer. */
export async function call<T>(request: Promise<UpstreamResponse<T>>): Promise<T> {
  let res: UpstreamResponse<T>;
  try {
    res = await request;
  } catch (e) {
    if (e instanceof UpstreamUnavailableError) throw new HttpException({ statusCode: 502, message: e.message }, 502);
    throw e;
  }
  if (res.status >= 400) {
    const body = res.body as { message?: unknown } | string | undefined;
    const message = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : `upstream answered ${res.status}`;
    throw new HttpException({ statusCode: res.status, message }, res.status);
  }
  return res.body;
}

/** The dashboard's JSON API: reads from the orchestrator, the registry and the event feed; steering goes to the orchestrator. */
@Controller()
export class ApiController {
  constructor(
    private readonly api: AgencyApiClient,
    private readonly views: FrViewService,
    private readonly feed: EventFeedService,
    private readonly config: DashboardConfig,
  ) {}

  @Get('api/config')
  settings(): { traceUrlTemplate?: string } {
    return this.config.TRACE_URL_TEMPLATE ? { traceUrlTemplate: this.config.TRACE_URL_TEMPLATE } : {};
  }

  /** Everything the main page shows, in one call; an upstream that is down leaves its part empty and says so. */
  @Get('api/overview')
  async overview(): Promise<DashboardOverview> {
    const errors: DashboardOverview['errors'] = {};
    const part = async <T>(upstream: Upstream, request: Promise<T>, empty: T): Promise<T> => {
      try {
        return await request;
      } catch (e) {
        errors[upstream] = messageOf(e);
        return empty;
      }
    };
    const [{ sagas, refused }, jobs] = await Promise.all([
      part(
        'orchestrator',
        call(this.api.get<SagaListing>('orchestrator', '/sagas')).then((r) => ({ sagas: r.sagas, refused: r.refused ?? [] })),
        { sagas: [] as SagaSummary[], refused: [] as RefusedFrSummary[] },
      ),
      part(
        'registry',
        call(this.api.get<JobListing>('registry', '/jobs')).then((r) => r.jobs),
        [] as QueuedJobView[],
      ),
    ]);
    const byState: DashboardOverview['byState'] = {};
    for (const s of sagas) byState[s.state] = (byState[s.state] ?? 0) + 1;
    return { sagas: sagas.map((s) => this.views.summaryWithLinks(s)), refused, jobs, byState, events: this.feed.latest(30), live: this.feed.caughtUp, errors };
  }

  @Get('api/sagas')
  async sagas(): Promise<DashboardSagaList> {
    const r = await call(this.api.get<SagaListing>('orchestrator', '/sagas'));
    return { sagas: r.sagas.map((s) => this.views.summaryWithLinks(s)), refused: r.refused ?? [] };
  }

  @Get('api/jobs')
  jobs(): Promise<JobListing> {
    return call(this.api.get<JobListing>('registry', '/jobs'));
  }

  @Get('api/sagas/:frId')
  async detail(@Param('frId') frId: string): Promise<DashboardFrDetail> {
    const saga = await call(this.api.get<SagaRecordView>('orchestrator', `/sagas/${encodeURIComponent(checkFrId(frId))}`));
    return this.views.detail(saga);
  }

  /**
   * A person's decision, passed to the orchestrator as `by: <who>` (default "dashboard"). Only
   * JSON is accepted: a cross-site form cannot send it without a CORS preflight this server
   * never grants, so another site cannot press the buttons for a logged-in browser.
   */
  @Post('api/sagas/:frId/:action')
  @HttpCode(200)
  async act(
    @Param('frId') frId: string,
    @Param('action') action: string,
    @Body() body: ActionBody | undefined,
    @Headers('content-type') contentType?: string,
  ): Promise<DashboardSaga> {
    if (!/^application\/json\b/i.test(contentType ?? '')) throw new UnsupportedMediaTypeException('send the action as application/json');
    if (!isAction(action)) throw new BadRequestException(`unknown action '${action}' (choose from: ${SAGA_ACTIONS.join(', ')})`);
    const by = text(body?.by, 'by', 100) ?? 'dashboard';
    const comment = text(body?.comment, 'comment', 2000);
    const reason = text(body?.reason, 'reason', 2000);
    const forwarded: SagaActionRequest = {
      by,
      ...(comment ? { comment } : {}),
      ...(reason ? { reason } : action === 'cancel' || action === 'reject' ? { reason: comment ?? `${action} from the dashboard` } : {}),
    };
    const s = await call(this.api.post<SagaSummary>('orchestrator', `/sagas/${encodeURIComponent(checkFrId(frId))}/${action}`, forwarded));
    return this.views.summaryWithLinks(s);
  }

  /** A local-forge PR record (the target of local:// PR links), read through git-service. */
  @Get('forge/local/repos/:owner/:name/pulls/:number')
  pull(@Param('owner') owner: string, @Param('name') name: string, @Param('number') number: string): Promise<PullRequestView> {
    if (!/^[\w.-]+$/.test(owner) || !/^[\w.-]+$/.test(name) || !/^\d+$/.test(number)) throw new BadRequestException('not a pull request path');
    return call(this.api.get<PullRequestView>('git-service', `/forge/local/repos/${owner}/${name}/pulls/${number}`));
  }

  /** Live events (server-sent events): `hello` on connect, `agency` per event, `ping` every 15 s. */
  @Sse('api/events')
  events(): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      subscriber.next({ type: 'hello', data: { live: this.feed.caughtUp } });
      const off = this.feed.subscribe((e) => subscriber.next({ type: 'agency', id: String(e.seq), data: e }));
      const ping = setInterval(() => subscriber.next({ type: 'ping', data: {} }), PING_MS);
      return () => {
        off();
        clearInterval(ping);
      };
    });
  }
}
