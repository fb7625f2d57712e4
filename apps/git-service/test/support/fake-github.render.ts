import type { GitHubOpenApi } from './github-openapi.js';

type Json = Record<string, unknown>;

/** A PR as the fake keeps it. */
export interface FakePull {
  repo: string;
  number: number;
  id: number;
  node_id: string;
  title: string;
  body: string | null;
  head: string;
  base: string;
  state: 'open' | 'closed';
  draft: boolean;
  merged: boolean;
  merged_at: string | null;
  merge_commit_sha: string | null;
  closed_at: string | null;
  labels: string[];
  comments: Array<{ id: number; body: string }>;
  reviews?: FakeReview[];
  created_at: string;
  updated_at: string;
  /** The head when the PR was merged or closed (the branch may be gone later). */
  headShaFrozen?: string;
}

/** A person's review of a PR. */
export interface FakeReview {
  id: number;
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  body: string;
  submitted_at: string;
}

export interface RenderContext {
  spec: GitHubOpenApi;
  /** http://host:port: web URLs; the API is at <web>/api/v3. */
  web: string;
  headSha: string;
  baseSha: string;
  /** Computed like GitHub's mergeability (null while unknown). */
  mergeable: boolean | null;
}

/** Sets the keys of `values` that the base object has: a PR list item keeps the shape of pull-request-simple. */
function overlay(base: Json, values: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(values)) if (k in base) out[k] = v;
  return out;
}

function api(ctx: RenderContext): string {
  return `${ctx.web}/api/v3`;
}

export function renderLabel(ctx: RenderContext, repo: string, name: string, index: number): Json {
  const base = (ctx.spec.componentExample('label-items') as Json[])[0]!;
  return overlay(base, {
    id: 9000 + index,
    node_id: `LA_${index}`,
    name,
    url: `${api(ctx)}/repos/${repo}/labels/${encodeURIComponent(name)}`,
    color: 'ededed',
    default: false,
    description: '',
  });
}

function branchRef(ctx: RenderContext, example: Json, repo: string, ref: string, sha: string): Json {
  const [owner, name] = repo.split('/') as [string, string];
  const repoJson = overlay(example.repo as Json, {
    name,
    full_name: repo,
    private: true,
    html_url: `${ctx.web}/${repo}`,
    url: `${api(ctx)}/repos/${repo}`,
    default_branch: 'main',
  });
  return { ...example, label: `${owner}:${ref}`, ref, sha, repo: repoJson };
}

/** A pull request shaped like GitHub's own example of the schema (`pull-request` or `pull-request-simple`). */
export function renderPull(ctx: RenderContext, pull: FakePull, shape: 'pull-request' | 'pull-request-simple'): Json {
  const example = (
    shape === 'pull-request' ? ctx.spec.componentExample('pull-request') : (ctx.spec.componentExample('pull-request-simple-items') as Json[])[0]
  ) as Json;
  const url = `${api(ctx)}/repos/${pull.repo}/pulls/${pull.number}`;
  const mergeableState = pull.state !== 'open' ? 'unknown' : pull.draft ? 'draft' : ctx.mergeable === null ? 'unknown' : ctx.mergeable ? 'clean' : 'dirty';
  return overlay(example, {
    id: pull.id,
    node_id: pull.node_id,
    number: pull.number,
    url,
    html_url: `${ctx.web}/${pull.repo}/pull/${pull.number}`,
    diff_url: `${ctx.web}/${pull.repo}/pull/${pull.number}.diff`,
    patch_url: `${ctx.web}/${pull.repo}/pull/${pull.number}.patch`,
    issue_url: `${api(ctx)}/repos/${pull.repo}/issues/${pull.number}`,
    state: pull.state,
    locked: false,
    title: pull.title,
    body: pull.body,
    draft: pull.draft,
    labels: pull.labels.map((l, i) => renderLabel(ctx, pull.repo, l, i)),
    head: branchRef(ctx, example.head as Json, pull.repo, pull.head, ctx.headSha),
    base: branchRef(ctx, example.base as Json, pull.repo, pull.base, ctx.baseSha),
    created_at: pull.created_at,
    updated_at: pull.updated_at,
    closed_at: pull.closed_at,
    merged_at: pull.merged_at,
    merged: pull.merged,
    merge_commit_sha: pull.merge_commit_sha,
    mergeable: pull.state === 'open' ? ctx.mergeable : null,
    mergeable_state: mergeableState,
    merged_by: pull.merged ? (example.user as Json) : null,
    comments: pull.comments.length,
    assignee: null,
    assignees: [],
    milestone: null,
    requested_reviewers: [],
    requested_teams: [],
    auto_merge: null,
  });
}

export function renderComment(ctx: RenderContext, pull: FakePull, comment: { id: number; body: string }): Json {
  const base = ctx.spec.componentExample('issue-comment') as Json;
  return overlay(base, {
    id: comment.id,
    node_id: `IC_${comment.id}`,
    body: comment.body,
    url: `${api(ctx)}/repos/${pull.repo}/issues/comments/${comment.id}`,
    html_url: `${ctx.web}/${pull.repo}/pull/${pull.number}#issuecomment-${comment.id}`,
    issue_url: `${api(ctx)}/repos/${pull.repo}/issues/${pull.number}`,
  });
}

export function renderReview(ctx: RenderContext, pull: FakePull, review: FakeReview): Json {
  const base = (ctx.spec.componentExample('pull-request-review-items') as Json[])[0]!;
  return overlay(base, {
    id: review.id,
    node_id: `PRR_${review.id}`,
    user: { ...(base.user as Json), login: review.user },
    body: review.body,
    state: review.state,
    submitted_at: review.submitted_at,
    commit_id: ctx.headSha,
    html_url: `${ctx.web}/${pull.repo}/pull/${pull.number}#pullrequestreview-${review.id}`,
    pull_request_url: `${api(ctx)}/repos/${pull.repo}/pulls/${pull.number}`,
  });
}

export interface FakeChecks {
  statuses: Array<{ context: string; state: 'success' | 'pending' | 'failure' | 'error' }>;
  runs: Array<{ name: string; status: 'queued' | 'in_progress' | 'completed'; conclusion: string | null }>;
}

export function renderCombinedStatus(ctx: RenderContext, sha: string, checks: FakeChecks): Json {
  const base = ctx.spec.componentExample('combined-commit-status') as Json;
  const item = (base.statuses as Json[])[0]!;
  const states = checks.statuses.map((s) => s.state);
  const state = states.some((s) => s === 'failure' || s === 'error') ? 'failure' : states.length === 0 || states.includes('pending') ? 'pending' : 'success';
  return overlay(base, {
    state,
    sha,
    total_count: checks.statuses.length,
    statuses: checks.statuses.map((s, i) => overlay(item, { id: 100 + i, node_id: `SC_${i}`, context: s.context, state: s.state })),
  });
}

export function renderCheckRuns(ctx: RenderContext, sha: string, checks: FakeChecks): Json {
  const base = ctx.spec.componentExample('check-run-paginated') as Json;
  const item = (base.check_runs as Json[])[0]!;
  return {
    total_count: checks.runs.length,
    check_runs: checks.runs.map((r, i) =>
      overlay(item, {
        id: 200 + i,
        node_id: `CR_${i}`,
        name: r.name,
        status: r.status,
        conclusion: r.conclusion,
        head_sha: sha,
        completed_at: r.status === 'completed' ? (item.completed_at ?? null) : null,
      }),
    ),
  };
}

export function errorBody(message: string, extra: Json = {}): Json {
  return { message, documentation_url: 'https://docs.github.com/rest', ...extra };
}
