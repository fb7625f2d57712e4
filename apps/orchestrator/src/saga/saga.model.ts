import type {
  ArtifactRefDto, FrSnapshotDto, RepoTargetDto, ReviewFindingDto, SagaState, StrategyDto, TestCountsDto, Verdict, WorkspaceRefDto,
} from '@agency/contracts';

export interface ReviewRound {
  round: number;
  verdict: Verdict;
  confidence: number;
  summary: string;
  findings: number;
  blocking: number;
}

export interface TransitionRecord {
  at: string;
  from: SagaState;
  to: SagaState;
  reason?: string;
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
  stepStartedAt: string;
  /** A backed-off retry: the step's command is sent (by the sweeper) once this time has come. */
  notBefore?: string;
  lastHeartbeatAt?: string;
  fr: FrSnapshotDto;
  /** Where the FR file is now (vault-relative). */
  frPath: string;
  repo: RepoTargetDto;
  /** The FR's root span: every step hangs under it, across restarts. */
  traceparent: string;
  traceId: string;
  jobId?: string;
  /** Set by `agency go --tier`: the router uses it instead of the score's tier. */
  forcedTier?: string;
  score?: number;
  strategy?: StrategyDto;
  plan?: ArtifactRefDto;
  planSummary?: string;
  round: number;
  workspace?: WorkspaceRefDto;
  diff?: ArtifactRefDto;
  tests?: { round: number; passed: boolean; counts: TestCountsDto; report: ArtifactRefDto; failureExcerpt: string };
  reviews: ReviewRound[];
  lastFindings: ReviewFindingDto[];
  /** Why the PR is opened as a draft (review rounds exhausted, budget), if it is. */
  draftReason?: string;
  /**
   * Set when the budget ran out during round 1's coding, before any work was handed in: the
   * coder stops at the gateway's FR cap and hands in its checkpoint commits, which become a
   * draft PR; a coder that hands in nothing fails the FR with this reason.
   */
  budgetStop?: string;
  pr?: { number: number; url: string; draft: boolean };
  mergeRequested?: boolean;
  /** The job's slot and worktree were released after the agency's part ended. */
  finished?: boolean;
  /** "Changes requested" rounds from people on the PR, answered so far. */
  humanRounds?: number;
  costUsd: number;
  failure?: { code: string; reason: string };
  history: TransitionRecord[];
  createdAt: string;
  updatedAt: string;
}

/** Pointer from an FR to its current run, so an FR is never taken twice at once. */
export interface FrIndexEntry {
  frId: string;
  sagaId: string;
  run: number;
}
