import { closedPayload, reviewCommentPayload, reviewPayload, webhookPull } from '../../test/support/webhook-payloads.js';
import { mapWebhook } from './webhook-event.mapper.js';

const REPO = 'octo/greeter';
const pull = (o: Partial<Parameters<typeof webhookPull>[0]> = {}) => webhookPull({ repo: REPO, number: 5, branch: 'agency/FR-5-x', ...o });
const where = { repo: REPO, number: 5, url: `https://github.com/${REPO}/pull/5`, branch: 'agency/FR-5-x', body: null };

describe('mapWebhook', () => {
  it('pull_request closed and merged -> pr-merged with the merge commit', () => {
    expect(mapWebhook('pull_request', closedPayload(REPO, pull({ merged: true, mergeSha: 'c'.repeat(40) })))).toEqual({
      kind: 'merged',
      pull: where,
      payload: { number: 5, url: where.url, mergeSha: 'c'.repeat(40) },
    });
  });

  it('pull_request closed without merge -> pr-closed', () => {
    expect(mapWebhook('pull_request', closedPayload(REPO, pull()))).toEqual({ kind: 'closed', pull: where, payload: { number: 5, url: where.url } });
  });

  it.each([
    ['approved', 'approved'],
    ['changes_requested', 'changes_requested'],
    ['commented', 'commented'],
    ['CHANGES_REQUESTED', 'changes_requested'],
  ])('pull_request_review submitted (%s) -> pr-reviewed %s with author and body', (state, mapped) => {
    expect(mapWebhook('pull_request_review', reviewPayload(REPO, pull(), { state, login: 'ada', body: 'Looks off.' }))).toEqual({
      kind: 'reviewed',
      pull: where,
      payload: { number: 5, state: mapped, author: 'ada', body: 'Looks off.' },
      newsId: 'review:77',
    });
  });

  it('a dismissed review means nothing', () => {
    expect(mapWebhook('pull_request_review', reviewPayload(REPO, pull(), { state: 'dismissed', login: 'ada', body: null }))).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('dismissed'),
    });
  });

  it('pull_request_review_comment created -> pr-reviewed commented, with the file and line in the body', () => {
    expect(
      mapWebhook('pull_request_review_comment', reviewCommentPayload(REPO, pull(), { login: 'grace', path: 'src/a.js', line: 12, body: 'Off by one.' })),
    ).toEqual({
      kind: 'reviewed',
      pull: where,
      payload: { number: 5, state: 'commented', author: 'grace', body: 'Comment on src/a.js line 12: Off by one.' },
      newsId: 'comment:88',
    });
    // A comment on an outdated line keeps its original line.
    expect(
      mapWebhook('pull_request_review_comment', reviewCommentPayload(REPO, pull(), { login: 'grace', path: 'src/a.js', line: null, body: 'Hm.' })),
    ).toMatchObject({ payload: { body: 'Comment on src/a.js line 3: Hm.' } });
  });

  it('ignores other events and actions, naming them', () => {
    expect(mapWebhook('push', { ref: 'refs/heads/main' })).toEqual({ kind: 'ignored', reason: 'push is not an event the agency acts on' });
    expect(mapWebhook('pull_request', { ...closedPayload(REPO, pull()), action: 'synchronize' })).toEqual({
      kind: 'ignored',
      reason: 'pull_request (synchronize) is not an event the agency acts on',
    });
  });

  it('refuses payloads missing what the event needs, naming the field', () => {
    expect(() => mapWebhook('pull_request', 'text')).toThrow('the payload is not a JSON object');
    expect(() => mapWebhook('pull_request', { action: 'closed', repository: { full_name: REPO } })).toThrow('the payload has no pull_request');
    const noSha = closedPayload(REPO, pull({ merged: true, mergeSha: null }));
    expect(() => mapWebhook('pull_request', noSha)).toThrow('pull_request.merge_commit_sha');
    const noRepo = { ...closedPayload(REPO, pull()), repository: undefined };
    expect(() => mapWebhook('pull_request', noRepo)).toThrow('repository.full_name');
  });
});
