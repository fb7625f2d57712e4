import type {
  ArtifactRefDto,
  BaseFailuresDto,
  CoderStopCode,
  FrSnapshotDto,
  LintResultDto,
  RepoTargetDto,
  ReviewFindingDto,
  SagaState,
  StrategyDto,
  TestCountsDto,
  TestOutputFormat,
  Verdict,
  WorkspaceRefDto,
} from '@agency/contracts';
import type { Effect } from './effects.js';

export interface ReviewRound {
  round: number;
  verdict: Verdict;
  confidence: number;
  summary: string;
  findings: number;
  blocking: number;
  /** The vault's review rules applied to the round's change, and those not applied with why (absent before reviewers reported them). */
  rules?: { applied: string[]; skipped: Array<{ id: string; reason: string }> };
}

export interface TransitionRecord {
  at: string;
  from: SagaState;
  to: SagaState;
  reason?: string;
}

/** Where a run goes once its next job is dispatched (a retry, or a person's review round). */
export interface ResumePoint {
  state: SagaState;
  step: string;
  attempt: number;
  round: number;
}

/** One FR run: everything the saga needs to re-drive a step after any crash. Stored in KV. */
export interface SagaRecord {
  sagaId: string;
  frId: string;
  run: number;
  state: SagaState;
  /** The step whose result the saga waits for, and which try of it this is. */
  step: string;
  attempt: number;
  /** The attempt this step started at in this lap: retries of a failing step are counted from it. */
  attemptBase: number;
  /** The highest attempt sent for each step: a resumed step gets one never used (services answer a repeated one from their records). */
  tries: Record<string, number>;
  stepStartedAt: string;
  lastHeartbeatAt?: string;
  fr: FrSnapshotDto;
  /** Where the FR file is now (vault-relative). */
  frPath: string;
  repo: RepoTargetDto;
  /** The FR's root span: every step hangs under it, across restarts. */
  traceparent: string;
  traceId: string;
  /**
   * The run's jobs: each stretch of work that needs a registry slot (the first, a retry, a
   * person's review round) is a new lap with a job of its own (`jobIdOf`).
   */
  lap: number;
  jobId?: string;
  /** The lap's job slot and worktree were released (its part of the work is over). */
  released?: boolean;
  /** Set while a retry or a review round waits for its job's slot: where the run goes on dispatch. */
  resume?: ResumePoint;
  /** Set by `agency go --tier`: the router uses it instead of the score's tier. */
  forcedTier?: string;
  score?: number;
  strategy?: StrategyDto;
  plan?: ArtifactRefDto;
  planSummary?: string;
  round: number;
  workspace?: WorkspaceRefDto;
  diff?: ArtifactRefDto;
  /** The coder's own summary of its last round (the reviewer's context). */
  coderSummary?: string;
  /** Each round's summary of this run, in order (the PR's "What changed": round 1 is the main change, later rounds its fixes). */
  roundSummaries?: Array<{ round: number; summary: string }>;
  tests?: {
    round: number;
    passed: boolean;
    counts: TestCountsDto;
    format?: TestOutputFormat;
    exitCode?: number;
    report: ArtifactRefDto;
    failureExcerpt: string;
    lint?: LintResultDto;
    /** Every failure already failed at the job's base (the runner's tests at the base said so). */
    failedAtBase?: BaseFailuresDto;
  };
  reviews: ReviewRound[];
  lastFindings: ReviewFindingDto[];
  /** The last review round with its findings: the next round's reviewer is told what it asked for. */
  lastReview?: { round: number; verdict: Verdict; findings: ReviewFindingDto[] };
  /** Why the PR is opened as a draft (review rounds exhausted, budget, the coder stopped early), if it is. */
  draftReason?: string;
  /** Why the coder stopped before it finished; its checkpoints became the (draft) work, and no more rounds run. */
  stopped?: { code: CoderStopCode; reason: string };
  /**
   * Set when the budget ran out while the coder works on round 1 with nothing handed in yet: the
   * coder stops at the gateway's cap and hands in its checkpoints (coded with `stopped`), which
   * become a draft PR; a coder that hands in nothing fails the FR with this reason.
   */
  budgetStop?: string;
  pr?: { number: number; url: string; draft: boolean };
  mergeRequested?: boolean;
  /** "Changes requested" rounds from people on the PR, answered so far. */
  humanRounds?: number;
  /** This run's model spend. */
  costUsd: number;
  /** What the FR's earlier runs spent; the FR file and the PR show the total. */
  priorCostUsd: number;
  /** A model call's cost was counted while the PR was being opened: once open, its description is rendered again. */
  prCostStale?: boolean;
  /** Ids of the usage events already counted: a redelivered one is not added again. */
  usageIds: string[];
  failure?: { code: string; reason: string };
  history: TransitionRecord[];
  /** Transitions applied so far: every effect id carries the number of the transition that decided it. */
  seq: number;
  /** Effects decided and saved with the state, not yet carried out (an outbox). */
  outbox: Effect[];
  createdAt: string;
  updatedAt: string;
}

/** Pointer from an FR to its current run, so an FR is never taken twice at once. */
export interface FrIndexEntry {
  frId: string;
  sagaId: string;
  run: number;
  /** The run was archived (its record left the store); without it, a missing record is a claim a crash cut short. */
  archived?: boolean;
}

/** The job of a lap: the first keeps the historical `job-<sagaId>`, later laps add their number. */
export function jobIdOf(sagaId: string, lap: number): string {
  return lap <= 1 ? `job-${sagaId}` : `job-${sagaId}-l${lap}`;
}

/** The FR's total spend over all its runs. */
export function totalCostUsd(record: Pick<SagaRecord, 'costUsd' | 'priorCostUsd'>): number {
  return Math.round(((record.priorCostUsd ?? 0) + record.costUsd) * 1e6) / 1e6;
}
