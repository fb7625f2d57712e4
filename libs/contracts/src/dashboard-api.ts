// What the dashboard's HTTP API answers (apps/dashboard/src/http), read by its page in the browser
// (apps/dashboard/src/browser): types only, so the page imports them without any code.
import type { RefusedFrSummary, SagaSummary, TimelineRowView } from './api.js';
import type { SagaState } from './saga-rules.js';

/**
 * GET /sagas/:frId of the orchestrator: the saga record (whole), of which its readers use these
 * fields. The orchestrator's SagaRecord is held to this shape by its own spec.
 */
export interface SagaRecordView {
  sagaId: string;
  frId: string;
  run: number;
  state: SagaState;
  step: string;
  attempt: number;
  round: number;
  /** The highest attempt sent for each step (`plan`, `code-r1`...): where the artifacts of the newest attempt are. */
  tries: Record<string, number>;
  fr: { title: string; priority?: string; repo?: string };
  traceId: string;
  jobId?: string;
  score?: number;
  strategy?: { tier: string };
  pr?: { number: number; url: string; draft: boolean };
  /** This run's model spend. */
  costUsd: number;
  failure?: { code: string; reason: string };
  draftReason?: string;
  planSummary?: string;
  history: Array<{ at: string; from: SagaState; to: SagaState; reason?: string }>;
  createdAt: string;
  updatedAt: string;
}

/** Where the browser opens an FR's PR (the forge's page, or the local forge's record through the dashboard) and its trace. */
export interface DashboardLinks {
  pr?: string;
  /** The FR's trace in Jaeger/Grafana, when the dashboard's TRACE_URL_TEMPLATE is set. */
  trace?: string;
}

/** An FR on the board (GET /api/overview, /api/sagas) and the answer to an action (POST /api/sagas/:frId/:action). */
export type DashboardSaga = SagaSummary & { links: DashboardLinks };

/** One event of the agency as the page lists it (and as /api/events streams it, event `agency`). */
export interface DashboardEvent {
  seq: number;
  type: string;
  frId: string;
  sagaId: string;
  step: string;
  attempt: number;
  occurredAt: string;
  summary: string;
}

/** A job of the registry's queue (GET /jobs of the registry), the part the page shows. */
export interface QueuedJobView {
  jobId: string;
  frId: string;
  repo: string;
  priority: string;
  tier: string;
  state: string;
  enqueuedAt: string;
  dispatchedAt?: string;
}

/** GET /api/overview: everything the main page shows, in one call. */
export interface DashboardOverview {
  sagas: DashboardSaga[];
  /** FR files the intake refused or holds: no saga, but people must see them. */
  refused: RefusedFrSummary[];
  jobs: QueuedJobView[];
  byState: Partial<Record<SagaState, number>>;
  events: DashboardEvent[];
  /** The event stream has caught up: what comes now is live. */
  live: boolean;
  /** An upstream that did not answer, and why: the page shows what it has and says what is missing. */
  errors: { [upstream: string]: string };
}

/** GET /api/sagas */
export interface DashboardSagaList {
  sagas: DashboardSaga[];
  refused: RefusedFrSummary[];
}

/** An FR's timeline: one row per state its run went through. */
export interface FrTimelineView {
  rows: TimelineRowView[];
  /** Model cost of steps no row stands for (e.g. older than the kept history). */
  otherCostUsd: number;
}

/** GET /api/sagas/:frId: the run, its links, its timeline and its recent events. */
export interface DashboardFrDetail {
  saga: SagaRecordView;
  links: DashboardLinks;
  timeline: FrTimelineView;
  events: readonly DashboardEvent[];
}

/** The body of POST /api/sagas/:frId/:action (all optional; `by` defaults to "dashboard"). */
export interface SagaActionRequest {
  by?: string;
  comment?: string;
  /** Why (cancel, reject); the comment stands in when it is missing. */
  reason?: string;
}

/** The body of a refused request (NestJS's error answer): the page shows the message. */
export interface ApiErrorBody {
  statusCode?: number;
  message: string;
}
