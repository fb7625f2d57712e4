import 'reflect-metadata';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Messages, STREAMS, type Envelope, type ReviewCommand, type ReviewedEvent, type StepFailedEvent } from '@agency/contracts';
import { samplePayloads } from '@agency/contracts/testing';
import { runService, type RunningService } from '@agency/bootstrap';
import { ArtifactStore, BusConnection, BusPublisher, Clock } from '@agency/messaging';
import { expectEventually, readStream, startFakeLlm, startNatsServer, tempDir, type FakeLlm, type NatsServerHandle, type TempDir } from '@agency/testing';
import { loadAgencyConfig } from '@agency/vault';
import { reviewerService } from '../src/reviewer.app.js';
import type { ReviewReport } from '../src/review/review.report.js';

const TOKEN = `ghp_${'Q1w2E3r4T5'.repeat(3)}abcdef`;
const CLEAN_DIFF = [
  'diff --git a/src/farewell.js b/src/farewell.js',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/src/farewell.js',
  '@@ -0,0 +1,4 @@',
  '+/** Returns a polite goodbye for `name`. */',
  '+export function farewell(name) {',
  '+  return `Goodbye, ${name}!`;',
  '+}',
  '',
].join('\n');
const WORKFLOW_DIFF = [
  'diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml',
  '--- a/.github/workflows/ci.yml',
  '+++ b/.github/workflows/ci.yml',
  '@@ -1,2 +1,3 @@',
  ' on: push',
  ' jobs: {}',
  '+# run on every branch',
  '',
].join('\n');
const TOKEN_DIFF = [
  'diff --git a/src/greet.js b/src/greet.js',
  '--- a/src/greet.js',
  '+++ b/src/greet.js',
  '@@ -1,3 +1,5 @@',
  ' export function greet(name) {',
  '   return `Hello, ${name}!`;',
  ' }',
  '+',
  `+export const GITHUB_TOKEN = '${TOKEN}';`,
  '',
].join('\n');
const APPROVE = JSON.stringify({
  verdict: 'approve',
  confidence: 0.92,
  summary: 'farewell() matches the FR and is tested.',
  findings: [{ file: 'src/farewell.js', line: 3, severity: 'info', message: 'Consider trimming the name.', suggestion: 'name.trim()' }],
});

describe('reviewer against a real nats-server and an OpenAI-compatible HTTP server', () => {
  let nats: NatsServerHandle;
  let vault: TempDir;
  let model: FakeLlm;
  const callsFor = (frId: string) => model.calls.filter((c) => c.headers['x-agency-fr-id'] === frId);
  let reviewer: RunningService;
  let bus: BusConnection;
  let publisher: BusPublisher;
  let artifacts: ArtifactStore;

  beforeAll(async () => {
    nats = await startNatsServer();
    vault = tempDir('reviewer-vault-');
    cpSync(resolve(import.meta.dirname, '../../../examples/vault'), vault.path, { recursive: true });
    const configFile = join(vault.path, '40_config/agency.yaml');
    // The example config has a review section already; this test's own forbidden paths replace it.
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace(/^review:\n(?:[ #].*\n|\n)*/m, '') + '\nreview:\n  forbidden_paths: ["infra/**"]\n');
    // The gateway, as far as the reviewer's LlmClient can tell: OpenAI's wire format, answers by FR.
    const replies: Record<string, string> = { 'FR-101': APPROVE, 'FR-102': APPROVE, 'FR-103': 'this is not JSON', 'FR-107': APPROVE, 'FR-108': APPROVE };
    model = await startFakeLlm('agk_test');
    model.respond = (call) => replies[String(call.headers['x-agency-fr-id'])] ?? '{}';
    reviewer = await runService(reviewerService, {
      NATS_URL: nats.url,
      VAULT_PATH: vault.path,
      LLM_GATEWAY_URL: model.url,
      LLM_GATEWAY_API_KEY: 'agk_test',
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      INSTANCE_ID: 'reviewer-medium',
      LOG_LEVEL: 'silent',
    });
    bus = await BusConnection.connect({ servers: nats.url, name: 'reviewer-medium-test' });
    publisher = new BusPublisher(bus, new Clock());
    artifacts = new ArtifactStore(bus);
  });

  afterAll(async () => {
    await reviewer?.close();
    await bus?.close();
    await model?.close();
    await nats?.dispose();
    vault?.remove();
  });

  async function sendReview(frId: string, diff: string, over: Partial<Pick<ReviewCommand, 'tests' | 'repo' | 'workspace'>> = {}): Promise<ReviewCommand> {
    const sagaId = `saga-${frId}`;
    const payload: ReviewCommand = { ...structuredClone(samplePayloads.Review), ...over };
    payload.fr = {
      ...payload.fr,
      id: frId,
      title: 'Add a farewell',
      body: 'Add farewell(name) in src/farewell.js.',
      acceptanceCriteria: ['farewell("Ada") returns "Goodbye, Ada!"'],
    };
    payload.diff = await artifacts.put(`${frId}/${sagaId}/code-r1.diff`, diff, 'text/x-diff');
    payload.plan = await artifacts.putJson(`${frId}/${sagaId}/plan.json`, {
      summary: 'Add farewell()',
      steps: [{ title: 'Add farewell()', files: ['src/farewell.js'] }],
    });
    await publisher.publish(Messages.Review, { frId, sagaId, jobId: `job-${frId}`, step: 'review-r1', payload });
    return payload;
  }

  async function reviewerEvent<P>(frId: string, type: string): Promise<Envelope<P>> {
    return expectEventually(
      async () => {
        const events = await readStream(bus.js, STREAMS.events.name, 'agency.evt.reviewer.>');
        const found = events.map((m) => JSON.parse(m.text) as Envelope<P>).filter((e) => e.frId === frId);
        if (found.length === 0) throw new Error(`no reviewer event for ${frId} yet`);
        if (found.length > 1) throw new Error(`${found.length} reviewer events for ${frId}`);
        expect(found[0]!.type).toBe(type);
        return found[0]!;
      },
      { timeoutMs: 20_000, message: `reviewer event for ${frId}` },
    );
  }

  it('keeps agency.yaml valid for the other services with the review section added', () => {
    expect(() => loadAgencyConfig(vault.path)).not.toThrow();
  });

  it('approves a clean diff the model approves, and sends the model the rules and the round', async () => {
    await sendReview('FR-101', CLEAN_DIFF);
    const env = await reviewerEvent<ReviewedEvent>('FR-101', Messages.Reviewed.type);
    expect(env).toMatchObject({ sagaId: 'saga-FR-101', step: 'review-r1', jobId: 'job-FR-101' });
    expect(env.payload).toMatchObject({ round: 1, verdict: 'approve', confidence: 0.92, summary: 'farewell() matches the FR and is tested.', findings: [] });
    expect(env.payload.report.key).toBe('FR-101/saga-FR-101/review-r1.json');

    const [call] = callsFor('FR-101');
    expect(call!.headers.authorization).toBe('Bearer agk_test');
    expect(call!.headers['x-agency-step']).toBe('review-r1');
    expect(call!.body.model).toBe(samplePayloads.Review.strategy.reviewerModel);
    expect(call!.body.response_format).toEqual({ type: 'json_object' });
    expect(call!.body.messages[0]!.content).toContain('You are the reviewer of an autonomous coding agency');
    const prompt = call!.body.messages[1]!.content;
    expect(prompt).toContain('## tests-required: New behaviour has tests');
    expect(prompt).toContain('## no-secrets: No credentials in code');
    expect(prompt).toContain('+export function farewell(name) {');
    expect(prompt).toContain('Round: 1');

    const report = await artifacts.getJson<ReviewReport>(env.payload.report);
    expect(report.rules.applied).toEqual(['tests-required', 'no-secrets']);
    expect(report.settings.forbiddenPatterns.map((p) => p.glob)).toContain('infra/**');
    expect(report.model.rawAnswer).toBe(APPROVE);
    expect(report.findings.dropped).toEqual([expect.objectContaining({ reason: 'severity info is below MIN_SEVERITY minor' })]);
  });

  it.each([
    ['FR-102', 'a planted GitHub token', TOKEN_DIFF, {}, 'secrets', { file: 'src/greet.js', line: 5, severity: 'critical' }],
    ['FR-104', 'a change to a CI workflow', WORKFLOW_DIFF, {}, 'forbidden-paths', { file: '.github/workflows/ci.yml', severity: 'critical' }],
    [
      'FR-105',
      'a failing test report',
      CLEAN_DIFF,
      { tests: { ...samplePayloads.Review.tests, passed: false, counts: { total: 3, passed: 2, failed: 1, skipped: 0 } } },
      'tests',
      { file: '', severity: 'critical' },
    ],
    ['FR-106', 'an empty diff', '', {}, 'diff', { file: '', severity: 'major', message: 'The change is empty: the diff touches no file.' }],
  ] as const)('%s: flags %s without asking the model', async (frId, _what, diff, over, check, finding) => {
    await sendReview(frId, diff, over);
    const env = await reviewerEvent<ReviewedEvent>(frId, Messages.Reviewed.type);
    expect(env.payload).toMatchObject({ verdict: 'request-changes', confidence: 1 });
    expect(env.payload.findings[0]).toMatchObject({ ...finding, blocking: true });
    expect(callsFor(frId)).toEqual([]);
    expect(JSON.stringify(env.payload)).not.toContain(TOKEN);
    const report = await artifacts.getJson<ReviewReport>(env.payload.report);
    expect(report.checks.find((c) => c.id === check)).toMatchObject({ passed: false });
    expect(report.model).toEqual({
      alias: samplePayloads.Review.strategy.reviewerModel,
      skipped: expect.stringContaining(`the ${check} check(s) already block the change`),
    });
  });

  it('reads the lint result the test step reported from the sandbox: a failing one is flagged without the model, a clean one is reviewed', async () => {
    const lintOf = async (frId: string, exitCode: number, outputTail: string) => {
      const repo = { ...samplePayloads.Review.repo, name: 'example/lint', lintCommand: 'node lint.mjs' };
      const tests = { ...samplePayloads.Review.tests, lint: { command: 'node lint.mjs', exitCode, timedOut: false, durationMs: 420, outputTail } };
      await sendReview(frId, CLEAN_DIFF, { repo, tests });
      return reviewerEvent<ReviewedEvent>(frId, Messages.Reviewed.type);
    };
    const rejected = await lintOf('FR-107', 1, `src/farewell.js:1  error  Unexpected var  no-var\nconst t = '${TOKEN}'\n1 problem(s)\n`);
    expect(rejected.payload).toMatchObject({ verdict: 'request-changes', confidence: 1 });
    expect(rejected.payload.findings).toEqual([
      expect.objectContaining({ blocking: true, message: expect.stringContaining('src/farewell.js:1  error  Unexpected var') }),
    ]);
    expect(JSON.stringify(rejected.payload)).not.toContain(TOKEN);
    expect(callsFor('FR-107')).toEqual([]);

    const clean = await lintOf('FR-108', 0, '0 problem(s)\n');
    expect(clean.payload.verdict).toBe('approve');
    expect(callsFor('FR-108')).toHaveLength(1);
    const report = await artifacts.getJson<ReviewReport>(clean.payload.report);
    expect(report.checks.find((c) => c.id === 'lint')).toMatchObject({ passed: true, detail: '`node lint.mjs` passed (0.4 s)' });
  });

  it("publishes a retryable step-failed when the answer stays invalid through the agent's repair turns", async () => {
    await sendReview('FR-103', CLEAN_DIFF);
    const env = await reviewerEvent<StepFailedEvent>('FR-103', Messages.ReviewerStepFailed.type);
    expect(env.payload.code).toBe('LLM_ANSWER_INVALID');
    // The saga backs off and re-drives the step: a model may answer well next time.
    expect(env.payload.retryable).toBe(true);
    expect(env.payload.reason).toContain('not valid JSON');
    // The first call and the client's two repair turns (the agent's default), which show the model its answer.
    const calls = callsFor('FR-103');
    expect(calls).toHaveLength(3);
    expect(calls[1]!.body.messages.at(-1)!.content).toContain('Your answer could not be used');
  });

  it('answers a redelivered command from the stored report without calling the model again', async () => {
    const callsBefore = callsFor('FR-101').length;
    const deliveredBefore = (await bus.jsm.consumers.info(STREAMS.commands.name, 'reviewer-cmd')).delivered.consumer_seq;
    const payload = await sendReview('FR-101', CLEAN_DIFF); // deduped by JetStream: same sagaId:step:attempt
    // A redelivery carries the same envelope ids; a new Nats-Msg-Id gets this copy past the dedupe.
    await publisher.publish(
      Messages.Review,
      { frId: 'FR-101', sagaId: 'saga-FR-101', jobId: 'job-FR-101', step: 'review-r1', payload },
      { msgId: 'redelivery-FR-101' },
    );
    await expectEventually(async () => {
      const info = await bus.jsm.consumers.info(STREAMS.commands.name, 'reviewer-cmd');
      expect(info.delivered.consumer_seq).toBe(deliveredBefore + 1);
      expect(info.num_pending + info.num_ack_pending).toBe(0);
    });
    expect(callsFor('FR-101')).toHaveLength(callsBefore);
    // The reply repeats the first one's Nats-Msg-Id, so the saga still sees exactly one event.
    await reviewerEvent<ReviewedEvent>('FR-101', Messages.Reviewed.type);
  });
});
