import type { FrRefusalCode } from './messages/orchestrator.messages.js';
import type { SagaState } from './saga-rules.js';

/**
 * One FR as the orchestrator's HTTP API lists it (GET /sagas): the shape the CLI and the
 * dashboard read. Types only; the HTTP API is not a bus message.
 */
export interface SagaSummary {
  frId: string;
  sagaId: string;
  title: string;
  state: SagaState;
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

/**
 * A file in 10_features/03_planned the intake refused (or holds: an unknown dependency), as
 * GET /sagas lists it beside the sagas: refused FRs have no saga, but people must see them.
 */
export interface RefusedFrSummary {
  /** The FR id, when the file or its name gives one. */
  frId?: string;
  /** Where the file was found, and where it is now (09_blocked, or still 03_planned when it waits). */
  path: string;
  now: string;
  code: FrRefusalCode;
  reason: string;
  at: string;
}

/** GET /sagas */
export interface SagaList {
  sagas: SagaSummary[];
  refused: RefusedFrSummary[];
  /** Finished runs still stored but not listed (the listing shows the newest; GET /sagas/:frId reads any). */
  finishedNotListed?: number;
}

/** A round's diff, one file at a time (the dashboard's workbench). */
export interface DiffFileView {
  path: string;
  from?: string;
  status: 'added' | 'deleted' | 'renamed' | 'modified';
  added: number;
  removed: number;
  patch: string;
}

/** What the workbench shows of a test run (the tester's report, shortened). */
export interface TestRunView {
  passed: boolean;
  command?: string;
  exitCode?: number | null;
  timedOut?: boolean;
  durationMs?: number;
  counts?: { total: number; passed: number; failed: number; skipped: number };
  failing: string[];
  outputTail?: string;
}

/** What the workbench shows of a review (the reviewer's report, shortened). */
export interface ReviewView {
  verdict?: string;
  confidence?: number;
  reason?: string;
  summary?: string;
  findings: Array<{ file: string; line?: number; severity: string; message: string; suggestion?: string }>;
}

/** One coding round of a run: its diff, its tests, its review, and whether the coder's transcript is stored. */
export interface RoundWork {
  round: number;
  diff?: { files: DiffFileView[]; bytes: number };
  tests?: TestRunView;
  review?: ReviewView;
  /** The attempt whose transcript is stored (GET /api/sagas/:frId/transcript/:round). */
  transcriptAttempt?: number;
}

/** GET /api/sagas/:frId/work of the dashboard: the run's plan (whole) and every round's work. */
export interface FrWork {
  frId: string;
  sagaId: string;
  plan?: {
    summary?: string;
    steps?: Array<{ title?: string; files?: string[]; detail?: string }>;
    risks?: string[];
    /** What a planner with reading tools read before it answered, and its turns. */
    meta?: { explored?: string[]; turns?: number };
  };
  rounds: RoundWork[];
  /** Artifacts that could not be read, and why (the page says so instead of showing nothing). */
  problems: string[];
}

/** One entry of the coder's transcript: a model turn, a tool call with its result, or a note. */
export type TranscriptEntryView =
  | { kind: 'prompt'; at: string; messages: Array<{ role: string; content: string }>; tools: string[] }
  | {
      kind: 'model';
      at: string;
      step: number;
      model: string;
      durationMs: number;
      inputTokens: number;
      outputTokens: number;
      content: string;
      toolCalls: Array<{ id: string; name: string; arguments: string }>;
    }
  | { kind: 'tool'; at: string; step: number; id: string; name: string; arguments: string; ok: boolean; durationMs: number; result: string; changed?: string[] }
  | { kind: 'note'; at: string; step: number; text: string };

/** GET /api/sagas/:frId/transcript/:round of the dashboard. */
export interface TranscriptView {
  round: number;
  attempt: number;
  /** The round's coding still runs: the transcript so far (stored every 2 s at most as it grows). */
  running?: boolean;
  outcome?: { ok: boolean; error?: string; summary?: string };
  totals?: { modelCalls: number; toolCalls: number; inputTokens: number; outputTokens: number };
  entries: TranscriptEntryView[];
}

/** One row of an FR's timeline on the dashboard: a state the saga was in, how long, what it cost. */
export interface TimelineRowView {
  state: SagaState;
  /** The step the saga waited on in this state (as in envelopes: plan, code-r1, test-r1...). */
  step: string;
  startedAt: string;
  endedAt?: string;
  durationMs: number;
  /** The saga is in this state now. */
  current: boolean;
  costUsd: number;
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** Why the saga left this state, when the transition said. */
  note?: string;
}

/** A pull request as the local forge records it (GET /forge/local/repos/:owner/:name/pulls/:n), the part the dashboard shows. */
export interface PullRequestView {
  number: number;
  url: string;
  title: string;
  body: string;
  branch: string;
  base: string;
  headSha: string;
  state: 'open' | 'merged' | 'closed';
  draft: boolean;
  mergedAt: string | null;
  mergeSha: string | null;
}

/**
 * The HTTP request header a client sets on a GET it repeats only to watch state (`agency up` reads
 * GET /sagas twice a second). The services answer it as any GET, but a successful answer leaves no
 * span and no info-level request line: a trial's 6-minute run had 669 one-span traces and 669 of
 * its 700 orchestrator log lines from those reads alone. A failed one is traced and logged as
 * usual; the header means nothing on any other method, so every change keeps its trace.
 */
export const POLL_HEADER = 'x-agency-poll';
