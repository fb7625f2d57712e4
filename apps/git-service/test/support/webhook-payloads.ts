import { createHmac, randomUUID } from 'node:crypto';

type Json = Record<string, unknown>;

/** The pull_request object of a webhook, with the fields GitHub always sends that git-service reads. */
export function webhookPull(o: {
  repo: string;
  number: number;
  branch: string;
  body?: string | null;
  merged?: boolean;
  mergeSha?: string | null;
  state?: 'open' | 'closed';
}): Json {
  return {
    url: `https://api.github.com/repos/${o.repo}/pulls/${o.number}`,
    id: 1000 + o.number,
    node_id: `PR_${o.number}`,
    html_url: `https://github.com/${o.repo}/pull/${o.number}`,
    number: o.number,
    state: o.state ?? 'open',
    title: `PR ${o.number}`,
    body: o.body ?? null,
    draft: false,
    merged: o.merged ?? false,
    merge_commit_sha: o.mergeSha ?? null,
    head: { label: `${o.repo.split('/')[0]}:${o.branch}`, ref: o.branch, sha: 'a'.repeat(40) },
    base: { label: `${o.repo.split('/')[0]}:main`, ref: 'main', sha: 'b'.repeat(40) },
    user: { login: 'agency-bot', id: 1, type: 'Bot' },
  };
}

function repository(repo: string): Json {
  return {
    id: 42,
    node_id: 'R_42',
    name: repo.split('/')[1],
    full_name: repo,
    private: true,
    owner: { login: repo.split('/')[0], id: 7, type: 'Organization' },
  };
}

export function closedPayload(repo: string, pull: Json): Json {
  return {
    action: 'closed',
    number: pull.number,
    pull_request: { ...pull, state: 'closed' },
    repository: repository(repo),
    sender: { login: 'ada', id: 2, type: 'User' },
  };
}

export function reviewPayload(repo: string, pull: Json, review: { state: string; login: string; body: string | null; id?: number }): Json {
  const id = review.id ?? 77;
  return {
    action: 'submitted',
    review: {
      id,
      node_id: `PRR_${id}`,
      user: { login: review.login, id: 3, type: 'User' },
      body: review.body,
      state: review.state,
      html_url: `${String(pull.html_url)}#pullrequestreview-${id}`,
      submitted_at: '2026-11-24T10:00:00Z',
      commit_id: 'a'.repeat(40),
    },
    pull_request: pull,
    repository: repository(repo),
    sender: { login: review.login, id: 3, type: 'User' },
  };
}

export function reviewCommentPayload(repo: string, pull: Json, comment: { login: string; path: string; line: number | null; body: string }): Json {
  return {
    action: 'created',
    comment: {
      id: 88,
      node_id: 'PRRC_88',
      path: comment.path,
      line: comment.line,
      original_line: comment.line ?? 3,
      body: comment.body,
      user: { login: comment.login, id: 4, type: 'User' },
      diff_hunk: '@@ -0,0 +1,3 @@',
    },
    pull_request: pull,
    repository: repository(repo),
    sender: { login: comment.login, id: 4, type: 'User' },
  };
}

/** GitHub's X-Hub-Signature-256 over the exact body bytes (computed here with node:crypto, independent of the code under test). */
export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs a delivery the way GitHub does: the event name, a delivery GUID and (when given) the signature. */
export async function deliver(
  url: string,
  event: string,
  payload: Json,
  o: { secret?: string; signature?: string; deliveryId?: string; form?: boolean } = {},
): Promise<Response> {
  const json = JSON.stringify(payload);
  const body = o.form ? new URLSearchParams({ payload: json }).toString() : json;
  const headers: Record<string, string> = {
    'content-type': o.form ? 'application/x-www-form-urlencoded' : 'application/json',
    'x-github-event': event,
    'x-github-delivery': o.deliveryId ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/test',
  };
  const signature = o.signature ?? (o.secret ? sign(o.secret, body) : undefined);
  if (signature) headers['x-hub-signature-256'] = signature;
  return fetch(url, { method: 'POST', headers, body });
}
