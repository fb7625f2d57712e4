import { Injectable } from '@nestjs/common';
import type { DashboardFrDetail, DashboardLinks, DashboardSaga, SagaRecordView, SagaSummary } from '@agency/contracts';
import { Clock } from '@agency/messaging';
import { DashboardConfig } from '../dashboard.config.js';
import { EventFeedService } from '../events/event-feed.service.js';
import { buildTimeline } from './timeline.js';

const LOCAL_PR = /^local:\/\/([^/\s]+)\/([^/\s]+)\/pulls\/(\d+)$/;

/** Turns saga records into what the page shows: links, the per-step timeline, the FR's events. */
@Injectable()
export class FrViewService {
  constructor(
    private readonly config: DashboardConfig,
    private readonly feed: EventFeedService,
    private readonly clock: Clock,
  ) {}

  prLink(prUrl: string | undefined): string | undefined {
    if (!prUrl) return undefined;
    const local = LOCAL_PR.exec(prUrl);
    if (local) return `/forge/local/repos/${local[1]}/${local[2]}/pulls/${local[3]}`;
    return /^https?:\/\//.test(prUrl) ? prUrl : undefined;
  }

  traceLink(traceId: string | undefined): string | undefined {
    if (!traceId || !this.config.TRACE_URL_TEMPLATE) return undefined;
    return this.config.TRACE_URL_TEMPLATE.replaceAll('{traceId}', encodeURIComponent(traceId));
  }

  links(prUrl: string | undefined, traceId: string | undefined): DashboardLinks {
    const pr = this.prLink(prUrl);
    const trace = this.traceLink(traceId);
    return { ...(pr ? { pr } : {}), ...(trace ? { trace } : {}) };
  }

  summaryWithLinks(s: SagaSummary): DashboardSaga {
    return { ...s, links: this.links(s.prUrl, s.traceId) };
  }

  detail(saga: SagaRecordView): DashboardFrDetail {
    return {
      saga,
      links: this.links(saga.pr?.url, saga.traceId),
      timeline: buildTimeline(saga, this.feed.stepCosts(saga.sagaId), this.clock.now()),
      events: this.feed.eventsOf(saga.sagaId),
    };
  }
}
