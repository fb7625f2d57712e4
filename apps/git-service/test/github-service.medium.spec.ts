import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Messages,
  STREAMS,
  type Envelope,
  type MergePrCommand,
  type OpenPrCommand,
  type PrClosedEvent,
  type PrMergedEvent,
  type PrOpenedEvent,
  type PrReviewedEvent,
  type StepFailedEvent,
} from '@agency/contracts';
import { expectEventually, readStream } from '@agency/testing';
import { createGitHubFixture, GH_REPO, GH_TOKEN, GitHubAgentClone, type GitHubFixture } from './support/github-fixture.js';
import { ServiceHarness } from './support/service-harness.js';
import { closedPayload, deliver, reviewCommentPayload, reviewPayload, webhookPull } from './support/webhook-payloads.js';

const SECRET = 'whsec-for-tests-0123456789';
const BRANCH = 'agency/FR-001-add-a-farewell';
const SAGA = 'saga-gh-service';

describe('git-service with a GitHub repository: bus commands, webhooks and the token, against a fake GitHub', () => {
  let fx: GitHubFixture;
  let h: ServiceHarness;
  let clone: GitHubAgentClone;
  let head1: string;
  let traceFile: string;
  const hook = () => `${h.service.url}/forge/github/webhooks`;

  function target(): OpenPrCommand['repo'] {
    return { name: GH_REPO, cloneUrl: fx.github.gitUrl(GH_REPO), base: 'main', forge: 'github', testCommand: 'npm test' };
  }

  function openPr(
    o: { step: string; attempt?: number; headSha: string; bundleKey: string; draft: boolean; rounds: string[] },
    bundle: Awaited<ReturnType<ServiceHarness['putBundle']>>,
  ): Envelope<OpenPrCommand> {
    const env = h.openPrCommand({
      frId: 'FR-001',
      title: 'Add a farewell',
      sagaId: SAGA,
      step: o.step,
      attempt: o.attempt ?? 1,
      branch: BRANCH,
      headSha: o.headSha,
      bundle,
      reviewRounds: o.rounds,
      draft: o.draft,
    });
    env.payload.repo = target();
    env.payload.fr = { ...env.payload.fr, repo: GH_REPO };
    env.payload.workspace.baseSha = fx.baseSha;
    env.payload.labels = ['agency', 'tier:small', ...(o.draft ? ['agency:in-progress'] : [])];
    return env;
  }

  function mergePr(attempt: number): Envelope<MergePrCommand> {
    const env = h.mergeCommand({ frId: 'FR-001', sagaId: SAGA, number: 1, attempt });
    env.payload.repo = target();
    return env;
  }

  beforeAll(async () => {
    fx = await createGitHubFixture();
    traceFile = join(fx.dir.path, 'traces.jsonl');
    h = await ServiceHarness.start({
      VAULT_PATH: fx.vaultPath,
      WORK_DIR: fx.workDir,
      GITHUB_TOKEN: GH_TOKEN,
      GITHUB_WEBHOOK_SECRET: SECRET,
      AGENCY_TRACE_FILE: traceFile,
    });
    clone = new GitHubAgentClone(fx, 'agent', BRANCH);
    head1 = clone.commit({ 'src/farewell.js': 'export function farewell(name) {\n  return `Goodbye, ${name}!`;\n}\n' }, 'Add farewell()');
  });

  afterAll(async () => {
    await h?.stop();
    await fx?.stop();
  });

  afterEach(() => {
    const found = fx.github.violations.splice(0);
    expect(found).toEqual([]);
  });

  it('opens one draft PR and pushes once when the open-pr command is delivered three times', async () => {
    const bundle = await h.putBundle(`FR-001/${SAGA}/code-r1.bundle`, clone.bundle());
    const env = openPr({ step: 'pr-r1', headSha: head1, bundleKey: 'r1', draft: true, rounds: [] }, bundle);
    await h.deliver(Messages.OpenPr, env, env, env);

    expect(fx.github.pulls).toHaveLength(1);
    expect(fx.github.pushes).toEqual([GH_REPO]);
    expect(fx.github.pulls[0]).toMatchObject({
      number: 1,
      head: BRANCH,
      base: 'main',
      draft: true,
      title: 'FR-001: Add a farewell',
      labels: ['agency', 'tier:small', 'agency:in-progress'],
    });
    expect(fx.github.pulls[0]!.body).toContain(`<!-- agency: fr=FR-001 saga=${SAGA} job=job-${SAGA} content=`);
    expect(fx.github.sha(GH_REPO, BRANCH)).toBe(head1);
    const opened = await h.events<PrOpenedEvent>(Messages.PrOpened.type, SAGA);
    expect(opened.map((e) => e.payload)).toEqual([
      { number: 1, url: `${fx.github.web}/${GH_REPO}/pull/1`, branch: BRANCH, headSha: head1, draft: true, created: true },
    ]);
    expect(fx.github.requests.filter((r) => r.operationId === 'pulls/create')).toHaveLength(1);
  });

  it('refuses the saga’s merge of a draft PR with a failed step, without calling GitHub’s merge', async () => {
    await h.deliver(Messages.MergePr, mergePr(1));
    const failed = await h.events<StepFailedEvent>(Messages.GitStepFailed.type, SAGA);
    expect(failed.map((e) => e.payload)).toEqual([expect.objectContaining({ code: 'PR_DRAFT', retryable: false })]);
    expect(fx.github.requests.some((r) => r.operationId === 'pulls/merge')).toBe(false);
  });

  it('a second round pushes once more, updates the same PR, marks it ready and comments', async () => {
    const head2 = clone.commit({ 'src/farewell.js': 'export function farewell(name) {\n  return `Goodbye, ${name.trim()}!`;\n}\n' }, 'Trim the name');
    const bundle = await h.putBundle(`FR-001/${SAGA}/code-r2.bundle`, clone.bundle());
    const rounds = [
      'round 1: request-changes (confidence 0.90, 1 finding(s), 1 blocking): trim the name',
      'round 2: approve (confidence 0.95, 0 finding(s), 0 blocking): good',
    ];
    const final = openPr({ step: 'open-pr', headSha: head2, bundleKey: 'r2', draft: false, rounds }, bundle);
    await h.deliver(Messages.OpenPr, final, final);

    expect(fx.github.pulls).toHaveLength(1);
    expect(fx.github.pushes).toEqual([GH_REPO, GH_REPO]);
    const pull = fx.github.pulls[0]!;
    expect(pull).toMatchObject({ draft: false, labels: ['agency', 'tier:small'] });
    expect(pull.body).toContain('1. round 1: request-changes');
    expect(pull.body).toContain('2. round 2: approve');
    expect(pull.comments.map((c) => c.body)).toEqual([expect.stringContaining(`the branch is now at \`${head2}\``)]);
    const opened = await h.events<PrOpenedEvent>(Messages.PrOpened.type, SAGA);
    expect(opened.at(-1)!.payload).toMatchObject({ number: 1, headSha: head2, draft: false, created: false });
  });

  it('merges through the bus once the PR is ready and its checks are green', async () => {
    await h.deliver(Messages.MergePr, mergePr(2));
    const merged = await h.events<PrMergedEvent>(Messages.PrMerged.type, SAGA);
    expect(merged.map((e) => e.payload)).toEqual([{ number: 1, url: `${fx.github.web}/${GH_REPO}/pull/1`, mergeSha: fx.github.sha(GH_REPO, 'main') }]);
  });

  it('refuses webhooks without a signature or with a wrong one, and publishes nothing for them', async () => {
    const before = (await h.events()).length;
    const payload = reviewPayload(GH_REPO, webhookPull({ repo: GH_REPO, number: 1, branch: BRANCH }), {
      state: 'changes_requested',
      login: 'ada',
      body: 'No.',
    });
    const unsigned = await deliver(hook(), 'pull_request_review', payload);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: 'SIGNATURE_MISSING' });
    const wrong = await deliver(hook(), 'pull_request_review', payload, { secret: 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'SIGNATURE_INVALID' });
    const tampered = await deliver(hook(), 'pull_request_review', payload, { signature: 'sha256=' + '0'.repeat(64) });
    expect(tampered.status).toBe(401);
    expect((await h.events()).length).toBe(before);
  });

  it('maps reviews and review comments to pr-reviewed for the saga that opened the PR, once per review', async () => {
    const pull = webhookPull({ repo: GH_REPO, number: 1, branch: BRANCH });
    const r1 = await deliver(
      hook(),
      'pull_request_review',
      reviewPayload(GH_REPO, pull, { state: 'changes_requested', login: 'ada', body: 'Please handle an empty name.' }),
      { secret: SECRET, deliveryId: 'd-1' },
    );
    expect(r1.status).toBe(202);
    expect(await r1.json()).toEqual({ status: 'published', type: Messages.PrReviewed.type, frId: 'FR-001', sagaId: SAGA, number: 1 });
    // GitHub redelivers d-1: no second event.
    expect(
      (
        await deliver(
          hook(),
          'pull_request_review',
          reviewPayload(GH_REPO, pull, { state: 'changes_requested', login: 'ada', body: 'Please handle an empty name.' }),
          { secret: SECRET, deliveryId: 'd-1' },
        )
      ).status,
    ).toBe(202);
    expect(
      (
        await deliver(hook(), 'pull_request_review', reviewPayload(GH_REPO, pull, { state: 'APPROVED', login: 'grace', body: null, id: 78 }), {
          secret: SECRET,
          deliveryId: 'd-2',
          form: true,
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await deliver(
          hook(),
          'pull_request_review_comment',
          reviewCommentPayload(GH_REPO, pull, { login: 'ada', path: 'src/farewell.js', line: 2, body: 'Trim here.' }),
          { secret: SECRET, deliveryId: 'd-3' },
        )
      ).status,
    ).toBe(202);

    const reviewed = await h.events<PrReviewedEvent>(Messages.PrReviewed.type, SAGA);
    expect(reviewed.map((e) => e.payload)).toEqual([
      { number: 1, state: 'changes_requested', author: 'ada', body: 'Please handle an empty name.' },
      { number: 1, state: 'approved', author: 'grace', body: '' },
      { number: 1, state: 'commented', author: 'ada', body: 'Comment on src/farewell.js line 2: Trim here.' },
    ]);
    expect(reviewed[0]).toMatchObject({ frId: 'FR-001', sagaId: SAGA, jobId: `job-${SAGA}`, step: 'merge', attempt: 1 });
  });

  it('maps closed PRs to pr-merged or pr-closed, finding a PR it has no record of by the marker in its body', async () => {
    // PR #1 was merged by git-service itself, which told the saga: GitHub's webhook of it is no news.
    const ours = webhookPull({ repo: GH_REPO, number: 1, branch: BRANCH, merged: true, mergeSha: fx.github.sha(GH_REPO, 'main') });
    const again = await deliver(hook(), 'pull_request', closedPayload(GH_REPO, ours), { secret: SECRET });
    expect(await again.json()).toEqual({ status: 'ignored', reason: expect.stringContaining('merged was announced before') });
    expect(await h.events<PrMergedEvent>(Messages.PrMerged.type, SAGA)).toHaveLength(1);

    const six = '<!-- agency: fr=FR-006 saga=saga-six job=job-six content=abcdef012345 -->';
    const merged = webhookPull({ repo: GH_REPO, number: 6, branch: 'agency/FR-006-six', body: six, merged: true, mergeSha: 'c'.repeat(40) });
    expect((await deliver(hook(), 'pull_request', closedPayload(GH_REPO, merged), { secret: SECRET })).status).toBe(202);
    expect((await h.events<PrMergedEvent>(Messages.PrMerged.type, 'saga-six')).map((e) => e.payload.mergeSha)).toEqual(['c'.repeat(40)]);

    const body = 'Opened elsewhere\n<!-- agency: fr=FR-007 saga=saga-seven job=job-seven content=abcdef012345 -->';
    const closed = webhookPull({ repo: GH_REPO, number: 7, branch: 'agency/FR-007-seven', body });
    const res = await deliver(hook(), 'pull_request', closedPayload(GH_REPO, closed), { secret: SECRET });
    expect(await res.json()).toMatchObject({ status: 'published', sagaId: 'saga-seven' });
    const events = await h.events<PrClosedEvent>(Messages.PrClosed.type, 'saga-seven');
    expect(events.map((e) => [e.frId, e.jobId, e.payload])).toEqual([['FR-007', 'job-seven', { number: 7, url: `https://github.com/${GH_REPO}/pull/7` }]]);
  });

  it('ignores what is not the agency’s: other branches, a marker naming another FR, other repositories, other events', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [
        'pull_request',
        closedPayload(GH_REPO, webhookPull({ repo: GH_REPO, number: 8, branch: 'feature/x', body: '<!-- agency: fr=FR-008 saga=s8 content=ab -->' })),
        'was not opened by the agency',
      ],
      [
        'pull_request',
        closedPayload(GH_REPO, webhookPull({ repo: GH_REPO, number: 9, branch: 'agency/FR-009-x', body: '<!-- agency: fr=FR-001 saga=s9 content=ab -->' })),
        'was not opened by the agency',
      ],
      [
        'pull_request',
        closedPayload('someone/else', webhookPull({ repo: 'someone/else', number: 1, branch: BRANCH })),
        'is not a github repository of agency.yaml',
      ],
      ['ping', { zen: 'Keep it logically awesome.', hook_id: 1 }, 'is not an event the agency acts on'],
      [
        'pull_request',
        { ...closedPayload(GH_REPO, webhookPull({ repo: GH_REPO, number: 1, branch: BRANCH })), action: 'opened' },
        'is not an event the agency acts on',
      ],
    ];
    const before = (await h.events()).length;
    for (const [event, payload, reason] of cases) {
      const res = await deliver(hook(), event, payload, { secret: SECRET });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ status: 'ignored', reason: expect.stringContaining(reason) });
    }
    const broken = await deliver(hook(), 'pull_request', { action: 'closed', repository: { full_name: GH_REPO } }, { secret: SECRET });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: 'PAYLOAD_INVALID', message: expect.stringContaining('pull_request') });
    expect((await h.events()).length).toBe(before);
  });

  it('kept the token out of events, artifacts, traces, files and URLs', async () => {
    const stored = [
      ...(await readStream(h.bus.js, STREAMS.events.name, 'agency.>')).map((m) => m.text),
      ...(await readStream(h.bus.js, STREAMS.commands.name, 'agency.>').catch(() => [])).map((m) => m.text),
    ];
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((t) => t.includes(GH_TOKEN))).toEqual([]);
    expect(existsSync(traceFile)).toBe(true);
    expect(readFileSync(traceFile, 'utf8')).not.toContain(GH_TOKEN);
    expect(fx.filesContaining(GH_TOKEN)).toEqual([]);
    expect(fx.github.requests.filter((r) => r.url.includes(GH_TOKEN) || r.url.includes(SECRET))).toEqual([]);
  });

  it('traces forge calls, git pushes and the webhook HTTP calls as spans named by OpenTelemetry’s conventions', async () => {
    await expectEventually(() => {
      const spans = readFileSync(traceFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; kind: number; attributes: Record<string, unknown> });
      const names = new Set(spans.map((s) => s.name));
      for (const name of [
        'POST /repos/{owner}/{repo}/pulls',
        'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge',
        'git push',
        'git clone',
        'POST /forge/github/webhooks',
      ])
        expect(names, name).toContain(name);
      const create = spans.find((s) => s.name === 'POST /repos/{owner}/{repo}/pulls')!;
      expect(create).toMatchObject({
        kind: 2,
        attributes: { 'http.request.method': 'POST', 'url.template': '/repos/{owner}/{repo}/pulls', 'http.response.status_code': 201 },
      });
      const hook = spans.find((s) => s.name === 'POST /forge/github/webhooks' && s.attributes['http.response.status_code'] === 401);
      expect(hook).toMatchObject({ kind: 1, attributes: { 'http.route': '/forge/github/webhooks' } });
      expect(spans.some((s) => s.name.startsWith('GET /health') || s.name === 'GET /metrics')).toBe(false);
    });
  });

  it('exports what it handled as domain metrics: commands by type and outcome, their duration and queue wait', async () => {
    const text = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(text).toMatch(/^agency_messages_handled_total\{message="git-service\.open-pr",outcome="ok",service="git-service"\} [1-9]/m);
    expect(text).toMatch(/^agency_message_handle_seconds_count\{service="git-service",message="git-service\.merge",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^agency_command_queue_wait_seconds_count\{service="git-service",message="git-service\.open-pr"\} [1-9]/m);
    expect(text).toMatch(/^agency_step_failures_total\{step="merge",code="PR_DRAFT",retryable="false",service="git-service"\} 1$/m);
  });
});
