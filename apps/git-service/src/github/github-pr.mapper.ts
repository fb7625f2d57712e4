import type { PrState, PullRequestRecord } from '../forge/forge.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { parseAgencyMarker } from '../pr/pr-body.js';
import type { PrOriginRecord } from '../pr/pr-origin.store.js';
import type { GhPull, GhPullItem } from './github-api.client.js';

/** The fields of a GitHub pull request this service reads; a full PR and a list item both have them. */
export type GhPullLike = Pick<
  GhPull | GhPullItem,
  'number' | 'html_url' | 'title' | 'body' | 'state' | 'draft' | 'created_at' | 'updated_at' | 'merged_at' | 'merge_commit_sha' | 'closed_at'
> & {
  head: { ref: string; sha: string };
  base: { ref: string };
  labels: Array<{ name?: string } | string>;
};

export function prStateOf(pull: Pick<GhPullLike, 'state' | 'merged_at'>): PrState {
  if (pull.merged_at) return 'merged';
  return pull.state === 'closed' ? 'closed' : 'open';
}

/** The FR id an agency branch names: agency/<FR id>-<slug> or agency/<FR id>. */
export function frIdOfBranch(branch: string): string | undefined {
  // FR ids are <LETTERS/DIGITS>-<digits> (FR_ID_PATTERN); the slug follows after a dash.
  return /^agency\/([A-Z][A-Z0-9]*-\d+)(?:-|$)/.exec(branch)?.[1];
}

/**
 * A GitHub pull request as git-service's PullRequestRecord. The FR run comes from git-service's
 * own record of the PR, else from the hidden marker in the body, else (FR id only) the branch.
 */
export function toPullRecord(repo: ForgeRepoRef, pull: GhPullLike, origin?: PrOriginRecord): PullRequestRecord {
  const marker = parseAgencyMarker(pull.body);
  const state = prStateOf(pull);
  return {
    number: pull.number,
    url: pull.html_url,
    repo: repo.name,
    title: pull.title,
    body: pull.body ?? '',
    branch: pull.head.ref,
    base: pull.base.ref,
    headSha: pull.head.sha,
    state,
    draft: pull.draft ?? false,
    labels: pull.labels.flatMap((l) => (typeof l === 'string' ? [l] : l.name ? [l.name] : [])),
    createdAt: pull.created_at,
    updatedAt: pull.updated_at,
    mergedAt: pull.merged_at,
    // Before the merge GitHub's merge_commit_sha is a test merge, not a commit of the base.
    mergeSha: state === 'merged' ? pull.merge_commit_sha : null,
    closedAt: pull.closed_at,
    pushes: origin?.pushes ?? [],
    frId: origin?.frId ?? marker?.frId ?? frIdOfBranch(pull.head.ref) ?? '',
    sagaId: origin?.sagaId ?? marker?.sagaId ?? '',
    jobId: origin ? (origin.jobId ?? null) : (marker?.jobId ?? null),
  };
}
