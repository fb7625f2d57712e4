import type { ForgeKind, ForgeRepoRef } from './repo-ref.js';

export type PrState = 'open' | 'merged' | 'closed';

/** One update of the PR's branch: the first push and every fix round after it. */
export interface PrPush {
  headSha: string;
  at: string;
}

export interface PrComment {
  body: string;
  at: string;
}

/** A pull request as git-service keeps it; the local forge stores exactly this as JSON. */
export interface PullRequestRecord {
  number: number;
  /** `local://<owner>/<name>/pulls/<n>` on the local forge, the web URL on GitHub. */
  url: string;
  /** owner/name */
  repo: string;
  title: string;
  body: string;
  branch: string;
  base: string;
  headSha: string;
  state: PrState;
  draft: boolean;
  labels: string[];
  createdAt: string;
  updatedAt: string;
  mergedAt: string | null;
  mergeSha: string | null;
  closedAt: string | null;
  pushes: PrPush[];
  /** Comments git-service wrote on the PR (the local forge keeps them; GitHub shows them on the PR). */
  comments?: PrComment[];
  /** The FR run that opened it: a merge or close from HTTP publishes its event with these. */
  frId: string;
  sagaId: string;
  jobId: string | null;
}

/** The FR run a PR belongs to: events a human's action on the PR causes are sent to this saga. */
export interface PrOrigin {
  frId: string;
  sagaId: string;
  jobId?: string;
}

/** What an open-pr command sets on a new or existing PR. */
export interface PrContent {
  title: string;
  body: string;
  draft: boolean;
  labels: string[];
  headSha: string;
  /** On an update: the run now working on the PR (a new run of the FR takes over its open PR). */
  origin?: PrOrigin;
}

export interface NewPullRequest extends PrContent {
  branch: string;
  base: string;
  frId: string;
  sagaId: string;
  jobId?: string;
}

export interface PrDiff {
  /** What the patch is computed against (the base tip's merge base, or the merge's first parent). */
  from: string;
  to: string;
  patch: string;
  truncated: boolean;
}

export interface MergeOutcome {
  pr: PullRequestRecord;
  /** True when the PR was merged before this call: the caller only repeats the news. */
  alreadyMerged: boolean;
}

export interface CloseOutcome {
  pr: PullRequestRecord;
  alreadyClosed: boolean;
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

/** What a merge must check first. The saga's own merges refuse drafts; a person's merge on the local forge is that person's call. */
export interface MergeGuard {
  allowDraft: boolean;
}

/**
 * A place PRs live. Every write is find-or-create or otherwise idempotent, because commands
 * are delivered at least once: LocalForge (bare repositories and PR records on disk) and
 * GitHubForge (Octokit) behave the same behind it.
 */
export interface Forge {
  readonly kind: ForgeKind;
  /** Makes the forge's `branch` point at `headSha` (already in the repository's mirror) by a normal push; `pushed` is false when it already did. */
  /** `behind`: the branch is already past `headSha` (an older round delivered late); nothing pushed. */
  ensureBranchPushed(repo: ForgeRepoRef, branch: string, headSha: string): Promise<{ pushed: boolean; behind?: boolean }>;
  findOpenPr(repo: ForgeRepoRef, branch: string): Promise<PullRequestRecord | undefined>;
  openPr(repo: ForgeRepoRef, pr: NewPullRequest): Promise<PullRequestRecord>;
  updatePr(repo: ForgeRepoRef, number: number, content: PrContent): Promise<PullRequestRecord>;
  /**
   * Merges an open PR; one already merged is reported, not refused. Refuses (conflict) a closed
   * PR, a draft unless the guard allows it, and on GitHub a head whose checks fail.
   */
  merge(repo: ForgeRepoRef, number: number, method: MergeMethod, guard: MergeGuard): Promise<MergeOutcome>;
  close(repo: ForgeRepoRef, number: number): Promise<CloseOutcome>;
  /** Removes a branch from the forge; false when it was not there (a redelivery, or deleted by hand). */
  deleteBranch(repo: ForgeRepoRef, branch: string): Promise<boolean>;
  /** Adds a comment to the PR's conversation. */
  comment(repo: ForgeRepoRef, number: number, body: string): Promise<void>;
  get(repo: ForgeRepoRef, number: number): Promise<PullRequestRecord | undefined>;
  list(repo: ForgeRepoRef): Promise<PullRequestRecord[]>;
  diff(repo: ForgeRepoRef, pr: PullRequestRecord): Promise<PrDiff>;
}
