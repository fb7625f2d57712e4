import type { EmitterWebhookEvent } from '@octokit/webhooks';
import type { PrClosedEvent, PrMergedEvent, PrReviewedEvent } from '@agency/contracts';

type ClosedPayload = EmitterWebhookEvent<'pull_request.closed'>['payload'];
type ReviewPayload = EmitterWebhookEvent<'pull_request_review.submitted'>['payload'];
type ReviewCommentPayload = EmitterWebhookEvent<'pull_request_review_comment.created'>['payload'];

/** The PR a webhook is about, as far as finding its FR run needs. */
export interface WebhookPull {
  /** owner/name of the repository the PR is in. */
  repo: string;
  number: number;
  url: string;
  branch: string;
  body: string | null;
}

export type MappedWebhook =
  | { kind: 'ignored'; reason: string }
  | { kind: 'merged'; pull: WebhookPull; payload: PrMergedEvent }
  | { kind: 'closed'; pull: WebhookPull; payload: PrClosedEvent }
  | { kind: 'reviewed'; pull: WebhookPull; payload: PrReviewedEvent; newsId: string };

/** GitHub's limit for a comment; PrReviewedEvent.body takes as much. */
const MAX_BODY = 65_536;

const REVIEW_STATES: Record<string, PrReviewedEvent['state']> = { approved: 'approved', changes_requested: 'changes_requested', commented: 'commented' };

class PayloadError extends Error {}

function field<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new PayloadError(`the payload has no ${what}`);
  return value;
}

function pullOf(payload: {
  repository?: { full_name?: string } | null;
  pull_request?: { number?: number; html_url?: string; head?: { ref?: string }; body?: string | null } | null;
}): WebhookPull {
  const pr = field(payload.pull_request, 'pull_request');
  return {
    repo: field(payload.repository?.full_name, 'repository.full_name'),
    number: field(pr.number, 'pull_request.number'),
    url: field(pr.html_url, 'pull_request.html_url'),
    branch: field(pr.head?.ref, 'pull_request.head.ref'),
    body: pr.body ?? null,
  };
}

function mapClosed(p: ClosedPayload): MappedWebhook {
  const pull = pullOf(p);
  if (p.pull_request.merged) {
    const mergeSha = field(p.pull_request.merge_commit_sha, 'pull_request.merge_commit_sha');
    return { kind: 'merged', pull, payload: { number: pull.number, url: pull.url, mergeSha } };
  }
  return { kind: 'closed', pull, payload: { number: pull.number, url: pull.url } };
}

function mapReview(p: ReviewPayload): MappedWebhook {
  const review = field(p.review, 'review');
  const state = REVIEW_STATES[String(review.state).toLowerCase()];
  if (!state) return { kind: 'ignored', reason: `review state "${review.state}" is not approved, changes_requested or commented` };
  const pull = pullOf(p);
  return {
    kind: 'reviewed',
    pull,
    payload: { number: pull.number, state, author: (review.user?.login ?? 'unknown').slice(0, 200), body: (review.body ?? '').slice(0, MAX_BODY) },
    newsId: `review:${field(review.id, 'review.id')}`,
  };
}

function mapReviewComment(p: ReviewCommentPayload): MappedWebhook {
  const c = field(p.comment, 'comment');
  const pull = pullOf(p);
  const line = c.line ?? c.original_line ?? undefined;
  const where = `${c.path}${line !== undefined && line !== null ? ` line ${line}` : ''}`;
  return {
    kind: 'reviewed',
    pull,
    payload: {
      number: pull.number,
      state: 'commented',
      author: (c.user?.login ?? 'unknown').slice(0, 200),
      body: `Comment on ${where}: ${c.body}`.slice(0, MAX_BODY),
    },
    newsId: `comment:${field(c.id, 'comment.id')}`,
  };
}

/**
 * A GitHub webhook (event name from X-GitHub-Event, parsed JSON payload) as the bus event it
 * means, or why it means none: pull_request closed (merged -> pr-merged, else pr-closed),
 * pull_request_review submitted and pull_request_review_comment created (-> pr-reviewed).
 * A payload missing what the event needs is refused with a PayloadError naming the field.
 */
export function mapWebhook(event: string, payload: unknown): MappedWebhook {
  if (typeof payload !== 'object' || payload === null) throw new PayloadError('the payload is not a JSON object');
  const action = (payload as { action?: unknown }).action;
  const key = `${event}.${typeof action === 'string' ? action : ''}`;
  switch (key) {
    case 'pull_request.closed':
      return mapClosed(payload as ClosedPayload);
    case 'pull_request_review.submitted':
      return mapReview(payload as ReviewPayload);
    case 'pull_request_review_comment.created':
      return mapReviewComment(payload as ReviewCommentPayload);
    default:
      return { kind: 'ignored', reason: `${event}${typeof action === 'string' ? ` (${action})` : ''} is not an event the agency acts on` };
  }
}

export { PayloadError as WebhookPayloadError };
