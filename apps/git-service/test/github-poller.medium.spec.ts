import { Messages, type PrMergedEvent, type PrReviewedEvent } from '@agency/contracts';
import type { ForgeRepoRef } from '../src/forge/repo-ref.js';
import { MirrorService } from '../src/git/mirror.service.js';
import { GitHubApiClient } from '../src/github/github-api.client.js';
import { GitHubForge } from '../src/github/github-forge.service.js';
import { PrNewsPublisher } from '../src/github/pr-news.publisher.js';
import { GitHubPrPoller } from '../src/github/pr-poller.service.js';
import { GitServiceConfig } from '../src/git-service.config.js';
import { PrOriginStore } from '../src/pr/pr-origin.store.js';
import { ForgeConfigRepository } from '../src/vault/forge-config.repository.js';
import { createGitHubFixture, GH_REPO, GH_TOKEN, GitHubAgentClone, type GitHubFixture } from './support/github-fixture.js';
import { closedPayload, deliver, reviewPayload, webhookPull } from './support/webhook-payloads.js';
import { ServiceHarness } from './support/service-harness.js';

const BRANCH = 'agency/FR-003-polled';
const SAGA = 'saga-poll';
const SECRET = 'whsec-poll-0123456789';

describe('merges, closes and reviews found by polling GitHub with conditional requests (no webhooks), told to the saga once', () => {
  let fx: GitHubFixture;
  let h: ServiceHarness;
  let poller: GitHubPrPoller;
  let repo: ForgeRepoRef;
  const statuses = (op: string) => fx.github.requests.filter((r) => r.operationId === op).map((r) => r.status);

  beforeAll(async () => {
    fx = await createGitHubFixture();
    // GITHUB_POLL_SECONDS=0: the test drives the passes itself (pollOnce), so nothing runs between its steps.
    h = await ServiceHarness.start({
      VAULT_PATH: fx.vaultPath,
      WORK_DIR: fx.workDir,
      GITHUB_TOKEN: GH_TOKEN,
      GITHUB_WEBHOOK_SECRET: SECRET,
      GITHUB_POLL_SECONDS: '0',
    });
    poller = h.service.app.get(GitHubPrPoller);
    repo = h.service.app.get(ForgeConfigRepository).githubRepo(GH_REPO)!;
    const clone = new GitHubAgentClone(fx, 'agent', BRANCH);
    const head = clone.commit({ 'src/polled.js': 'export const polled = 1;\n' }, 'Polled');
    await h.service.app.get(MirrorService).importBundle(repo, clone.bundle(), BRANCH, head);
    const forge = h.service.app.get(GitHubForge);
    await forge.ensureBranchPushed(repo, BRANCH, head);
    await forge.openPr(repo, {
      title: 'FR-003: Polled',
      body: 'x',
      draft: false,
      labels: ['agency'],
      headSha: head,
      branch: BRANCH,
      base: 'main',
      frId: 'FR-003',
      sagaId: SAGA,
      jobId: 'job-poll',
    });
  });

  afterAll(async () => {
    await h?.stop();
    await fx?.stop();
  });

  afterEach(() => {
    const found = fx.github.violations.splice(0);
    expect(found).toEqual([]);
  });

  it('reads once, then GitHub answers 304 while nothing changes (no rate limit spent), and nothing is announced', async () => {
    expect(await poller.pollOnce()).toEqual({ notModified: 0, read: 2, announced: 0, failures: 0 });
    expect(await poller.pollOnce()).toEqual({ notModified: 1, read: 0, announced: 0, failures: 0 });
    expect(await poller.pollOnce()).toEqual({ notModified: 1, read: 0, announced: 0, failures: 0 });
    expect(statuses('pulls/list')).toEqual([200, 304, 304]);
    expect(statuses('pulls/list-reviews')).toEqual([200]);
  });

  it('tells the saga of a person’s review once; a webhook of the same review afterwards is no news', async () => {
    const review = fx.github.addReview(GH_REPO, 1, { user: 'ada', state: 'CHANGES_REQUESTED', body: 'Handle an empty name.' });
    expect(await poller.pollOnce()).toMatchObject({ announced: 1, failures: 0 });
    expect(await poller.pollOnce()).toMatchObject({ notModified: 1, announced: 0 });
    const pull = webhookPull({ repo: GH_REPO, number: 1, branch: BRANCH });
    const late = await deliver(
      `${h.service.url}/forge/github/webhooks`,
      'pull_request_review',
      reviewPayload(GH_REPO, pull, { state: 'changes_requested', login: 'ada', body: 'Handle an empty name.', id: review.id }),
      { secret: SECRET },
    );
    expect(await late.json()).toMatchObject({ status: 'ignored' });
    const reviewed = await h.events<PrReviewedEvent>(Messages.PrReviewed.type, SAGA);
    expect(reviewed.map((e) => e.payload)).toEqual([{ number: 1, state: 'changes_requested', author: 'ada', body: 'Handle an empty name.' }]);
    expect(reviewed[0]).toMatchObject({ frId: 'FR-003', jobId: 'job-poll', step: 'merge', attempt: 1 });
  });

  it('tells the saga of a merge a person made on GitHub, once, and not again after a restart (the PR’s record remembers)', async () => {
    const merged = await fetch(`${fx.github.apiUrl}/repos/${GH_REPO}/pulls/1/merge`, {
      method: 'PUT',
      headers: { authorization: `token ${GH_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ merge_method: 'merge' }),
    });
    expect(merged.status).toBe(200);
    expect(await poller.pollOnce()).toMatchObject({ announced: 1, failures: 0 });
    const events = await h.events<PrMergedEvent>(Messages.PrMerged.type, SAGA);
    expect(events.map((e) => e.payload)).toEqual([{ number: 1, url: `${fx.github.web}/${GH_REPO}/pull/1`, mergeSha: fx.github.sha(GH_REPO, 'main') }]);

    // A restarted git-service: no ETags, nothing seen; the record says the merge and the review were told.
    const app = h.service.app;
    const restarted = new GitHubPrPoller(
      app.get(GitServiceConfig),
      app.get(ForgeConfigRepository),
      app.get(GitHubApiClient),
      app.get(PrOriginStore),
      app.get(PrNewsPublisher),
      h.service.logger,
    );
    expect(await restarted.pollOnce()).toMatchObject({ read: 1, announced: 0, failures: 0 });
    const webhook = await deliver(
      `${h.service.url}/forge/github/webhooks`,
      'pull_request',
      closedPayload(GH_REPO, webhookPull({ repo: GH_REPO, number: 1, branch: BRANCH, merged: true, mergeSha: fx.github.sha(GH_REPO, 'main') })),
      { secret: SECRET },
    );
    expect(await webhook.json()).toMatchObject({ status: 'ignored' });
    expect(await h.events<PrMergedEvent>(Messages.PrMerged.type, SAGA)).toHaveLength(1);
  });

  it('counts the news it published in its /metrics (domain metrics, no ids in labels)', async () => {
    const text = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(text).toMatch(/^agency_pr_events_total\{event="pr-merged",service="git-service"\} 1$/m);
    expect(text).toMatch(/^agency_pr_events_total\{event="pr-reviewed",service="git-service"\} 1$/m);
    expect(text).not.toMatch(/agency_[a-z_]+\{[^}]*(FR-003|saga-poll)/);
  });
});
