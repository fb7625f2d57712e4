import type { ReviewFindingDto, SagaState } from '@agency/contracts';
import { sampleArtifact, samplePayloads, sampleStrategy, sampleWorkspace } from '@agency/contracts/testing';
import { effects, ev, ids, kinds, next, record, settings } from '../../test/support/saga.fixtures.js';
import { decide, type SagaEvent } from './saga.machine.js';
import { briefSummary } from './machine/work.transitions.js';
import type { SagaRecord } from './saga.model.js';

const finding = (message: string, blocking = true): ReviewFindingDto => ({ file: 'src/a.js', line: 3, severity: 'major', message, blocking });

describe('saga state machine: the happy path', () => {
  it.each<[string, SagaRecord, SagaEvent, SagaState, string]>([
    ['discovered -> routed on scored', record('discovered', 'route'), ev('scored', 'FrScored', 'route'), 'routed', 'queue'],
    ['routed -> queued on queued', record('routed', 'queue'), ev('queued', 'JobQueued', 'queue'), 'queued', 'queue'],
    ['queued -> planning on dispatched', record('queued', 'queue'), ev('dispatched', 'JobDispatched', 'dispatch'), 'planning', 'plan'],
    ['routed -> planning when the queued event was lost', record('routed', 'queue'), ev('dispatched', 'JobDispatched', 'dispatch'), 'planning', 'plan'],
    ['planning -> coding on planned', record('planning', 'plan'), ev('planned', 'Planned', 'plan'), 'coding', 'code-r1'],
    ['coding -> testing on coded', record('coding', 'code-r1', { round: 1 }), ev('coded', 'Coded', 'code-r1'), 'testing', 'test-r1'],
    ['testing -> reviewing on tested', record('testing', 'test-r1', { round: 1 }), ev('tested', 'Tested', 'test-r1'), 'reviewing', 'review-r1'],
    ['reviewing -> opening-pr on approve', record('reviewing', 'review-r1', { round: 1 }), ev('reviewed', 'Reviewed', 'review-r1'), 'opening-pr', 'open-pr-r1'],
    [
      'opening-pr -> awaiting-merge on pr-opened',
      record('opening-pr', 'open-pr-r1', { round: 1 }),
      ev('pr-opened', 'PrOpened', 'open-pr-r1'),
      'awaiting-merge',
      'merge-r1',
    ],
    [
      'awaiting-merge -> done on pr-merged',
      record('awaiting-merge', 'merge-r1', { pr: { number: 1, url: 'u', draft: false } }),
      ev('pr-merged', 'PrMerged', 'merge'),
      'done',
      'merge-r1',
    ],
    [
      'awaiting-merge -> cancelled on pr-closed',
      record('awaiting-merge', 'merge-r1', { pr: { number: 1, url: 'u', draft: false } }),
      ev('pr-closed', 'PrClosed', 'merge'),
      'cancelled',
      'merge-r1',
    ],
  ])('%s', (_name, rec, event, state, step) => {
    const n = next(decide(rec, event, settings));
    expect(n.state).toBe(state);
    expect(n.step).toBe(step);
    expect(n.attempt).toBe(1);
    expect(n.seq).toBe(rec.seq + 1);
    expect(n.history.at(-1)).toMatchObject({ from: rec.state, to: state, at: settings.now.toISOString() });
  });

  it('decides the effects of each move, with ids of the saga and the transition, kept in the outbox', () => {
    const d = decide(record('testing', 'test-r1', { round: 1, workspace: sampleWorkspace() }), ev('tested', 'Tested', 'test-r1'), settings);
    expect(kinds(d)).toEqual(['fr-file', 'state-changed', 'step review-r1#1', 'draft-pr']);
    expect(effects(d).map((e) => e.id)).toEqual(['saga-1:t4:fr-file', 'saga-1:t4:state-changed', 'saga-1:t4:step', 'saga-1:t4:draft-pr']);
    expect(next(d).outbox).toEqual(effects(d));
    expect(effects(d)[0]).toMatchObject({ kind: 'fr-file', log: 'round 1: tests passed (3/3 passed)' });
  });

  it('keeps what each step produced', () => {
    let r = next(decide(record('discovered', 'route'), ev('scored', 'FrScored', 'route', { score: 42 }), settings));
    expect(r).toMatchObject({ score: 42, jobId: 'job-saga-1' });
    r = next(decide({ ...r, state: 'planning', step: 'plan' }, ev('planned', 'Planned', 'plan', {}, 1, 'job-saga-1'), settings));
    expect(r.plan).toEqual(samplePayloads.Planned.plan);
    expect(r.round).toBe(1);
    r = next(decide(r, ev('coded', 'Coded', 'code-r1', {}, 1, 'job-saga-1'), settings));
    expect(r).toMatchObject({ workspace: sampleWorkspace(), coderSummary: 'Added greet()', roundSummaries: [{ round: 1, summary: 'Added greet()' }] });
    r = next(decide(r, ev('tested', 'Tested', 'test-r1', { passed: false, failureExcerpt: 'boom', exitCode: 1 }, 1, 'job-saga-1'), settings));
    expect(r.tests).toMatchObject({ passed: false, failureExcerpt: 'boom', exitCode: 1, format: 'node' });
  });

  it("notes the review's first findings in the FR's log line, so a reader of the FR file sees them (only counts were logged)", () => {
    const findings = [
      finding('Name the\nconstant.', false),
      { ...finding('README could mention it.', false), file: '', line: undefined },
      finding('a'),
      finding('b'),
    ];
    const d = decide(
      record('reviewing', 'review-r1', { round: 1 }),
      ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'approve', confidence: 0.9, findings }),
      settings,
    );
    expect(effects(d)[0]).toMatchObject({
      kind: 'fr-file',
      log:
        'round 1: review approve (confidence 0.90, 4 finding(s), 2 blocking) ' +
        '[[major] src/a.js:3: Name the constant.; [major] whole change: README could mention it.; [major] src/a.js:3: a (+1 more)]; opening the PR',
    });
  });

  it("says in the FR's log line which review rules were not applied, and keeps them for the PR (a rule matching nothing was silent)", () => {
    const rules = { applied: ['tests-required'], skipped: [{ id: 'src-style', reason: 'no changed file matches src/**' }] };
    const d = decide(
      record('reviewing', 'review-r1', { round: 1 }),
      ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'approve', confidence: 0.9, findings: [], rules }),
      settings,
    );
    expect(effects(d)[0]).toMatchObject({
      kind: 'fr-file',
      log: 'round 1: review approve (confidence 0.90, 0 finding(s), 0 blocking); review rule(s) not applied: src-style (no changed file matches src/**); opening the PR',
    });
    expect(next(d).reviews.at(-1)).toMatchObject({ round: 1, rules });
  });

  it("says in the FR log when the policy overturned the model's verdict", () => {
    const findings = [finding('Untested branch')];
    const d = decide(
      record('reviewing', 'review-r1', { round: 1 }),
      ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'request-changes', modelVerdict: 'approve', confidence: 0.9, findings }),
      settings,
    );
    expect(effects(d)[0]).toMatchObject({
      kind: 'fr-file',
      log: expect.stringMatching(/^round 1: review request-changes \(confidence 0\.90, 1 finding\(s\), 1 blocking; the model's verdict was approve\)/),
    });
  });

  it("keeps the coder's summary to one short line in the FR log (a relay trial's was 1,083 characters)", () => {
    expect(briefSummary('Added greet()')).toBe('Added greet()');
    expect(briefSummary('Add flatCase and trainCase\n\n- src/index.ts: two functions')).toBe('Add flatCase and trainCase (more in the PR)');
    const long = `Add flatCase and trainCase utilities ${'with many words '.repeat(30)}`;
    const brief = briefSummary(long);
    expect(brief.length).toBeLessThanOrEqual(200 + ' (more in the PR)'.length);
    expect(brief).toMatch(/^Add flatCase and trainCase utilities with many words .*words \(more in the PR\)$/);
  });

  it('drops the summary\'s own round label from the FR log line, which starts "round N:" itself', () => {
    expect(briefSummary('Round 2: the fallback considers the last segment.')).toBe('the fallback considers the last segment.');
    expect(briefSummary('R2 - Kept empty values\n\n- src/a.ts')).toBe('Kept empty values (more in the PR)');
  });

  it('never says "0/0 passed" for test output no parser understood', () => {
    const d = decide(
      record('testing', 'test-r1', { round: 1 }),
      ev('tested', 'Tested', 'test-r1', { format: 'unparsed', counts: { total: 0, passed: 0, failed: 0, skipped: 0 }, exitCode: 0 }),
      settings,
    );
    expect(effects(d)[0]).toMatchObject({ kind: 'fr-file', log: 'round 1: tests passed (exit code 0; output not in a known format, no test counts)' });
  });
});

describe('saga state machine: gates, loops and failures', () => {
  it('waits for plan approval when the tier asks for it, then codes or blocks', () => {
    const rec = record('planning', 'plan', { strategy: { ...sampleStrategy(), planApproval: true } });
    const waiting = next(decide(rec, ev('planned', 'Planned', 'plan'), settings));
    expect(waiting.state).toBe('awaiting-plan-approval');
    expect(next(decide(waiting, ev('approve', 'GateApprove', 'any', { gate: 'plan' }), settings))).toMatchObject({
      state: 'coding',
      step: 'code-r1',
      round: 1,
    });
    expect(next(decide(waiting, ev('reject', 'GateReject', 'any', { gate: 'plan', by: 'ada', comment: 'too big' }), settings))).toMatchObject({
      state: 'blocked',
      failure: { code: 'PLAN_REJECTED', reason: 'plan rejected by ada: too big' },
    });
    expect(decide(waiting, ev('approve', 'GateApprove', 'any', { gate: 'pr' }), settings).kind).toBe('ignore');
  });

  it('sends request-changes back to the coder with the findings, up to the tier limit', () => {
    const rec = record('reviewing', 'review-r1', { round: 1 });
    const r2 = next(decide(rec, ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'request-changes', findings: [finding('trim the name')] }), settings));
    expect(r2).toMatchObject({ state: 'fixing', step: 'code-r2', round: 2, lastReview: { round: 1, verdict: 'request-changes' } });
    expect(r2.lastFindings.map((f) => f.message)).toEqual(['trim the name']);
    // Round 2 of 2 requests changes again: stop, keep the work as a draft PR for a human.
    const atLimit = next(
      decide(
        { ...r2, state: 'reviewing', step: 'review-r2' },
        ev('reviewed', 'Reviewed', 'review-r2', { verdict: 'request-changes', findings: [finding('new problem')] }),
        settings,
      ),
    );
    expect(atLimit).toMatchObject({ state: 'opening-pr', step: 'open-pr-r2', draftReason: 'review rounds exhausted (2)' });
  });

  it('stops early when a round brings no new finding instead of ping-ponging', () => {
    const rec = record('reviewing', 'review-r1', { round: 1, strategy: { ...sampleStrategy(), reviewRounds: 5 }, lastFindings: [finding('trim the name')] });
    const n = next(decide(rec, ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'request-changes', findings: [finding('Trim the name ')] }), settings));
    expect(n).toMatchObject({ state: 'opening-pr', draftReason: 'round 1 brought no new finding' });
  });

  it('blocks the FR when the reviewer rejects the change, closing its draft PR but keeping the branch', () => {
    const d = decide(
      record('reviewing', 'review-r1', { round: 1, pr: { number: 4, url: 'u', draft: true } }),
      ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'reject', summary: 'wrong approach' }),
      settings,
    );
    expect(next(d)).toMatchObject({ state: 'blocked', failure: { code: 'REVIEW_REJECTED', reason: 'wrong approach' }, released: true });
    expect(effects(d).filter((e) => ['complete-job', 'cleanup', 'close-pr'].includes(e.kind))).toMatchObject([
      { kind: 'complete-job', jobId: 'job-1', outcome: 'failed', reason: 'wrong approach' },
      { kind: 'cleanup', jobId: 'job-1', cancel: true },
      { kind: 'close-pr', number: 4, deleteBranch: false, reason: 'blocked: wrong approach' },
    ]);
  });

  it('auto-merges only when policy, tier, passing tests and confidence all allow', () => {
    const base = record('opening-pr', 'open-pr-r1', {
      round: 1,
      strategy: { ...sampleStrategy(), autoMerge: true },
      tests: { round: 1, passed: true, counts: { total: 1, passed: 1, failed: 0, skipped: 0 }, report: sampleArtifact(), failureExcerpt: '' },
      reviews: [{ round: 1, verdict: 'approve', confidence: 0.9, summary: 'ok', findings: 0, blocking: 0 }],
    });
    const allowed = { ...settings, autoMergeAllowed: true };
    const merging = decide(base, ev('pr-opened', 'PrOpened', 'open-pr-r1'), allowed);
    expect(next(merging).mergeRequested).toBe(true);
    expect(kinds(merging)).toContain('step merge-r1#1');
    expect(next(decide(base, ev('pr-opened', 'PrOpened', 'open-pr-r1'), settings)).mergeRequested).toBe(false);
    const lowConfidence = { ...base, reviews: [{ ...base.reviews[0]!, confidence: 0.5 }] };
    expect(next(decide(lowConfidence, ev('pr-opened', 'PrOpened', 'open-pr-r1'), allowed)).mergeRequested).toBe(false);
    expect(next(decide(base, ev('pr-opened', 'PrOpened', 'open-pr-r1', { draft: true }), allowed)).mergeRequested).toBe(false);
    const failingTests = { ...base, tests: { ...base.tests!, passed: false } };
    const notMerging = decide(failingTests, ev('pr-opened', 'PrOpened', 'open-pr-r1'), allowed);
    expect(next(notMerging).mergeRequested).toBe(false);
    expect(kinds(notMerging).filter((k) => k.startsWith('step'))).toEqual([]);
    // No test report at all is no pass either (kills `passed !== false` as well as dropping the check).
    const { tests: _none, ...untested } = base;
    expect(next(decide(untested, ev('pr-opened', 'PrOpened', 'open-pr-r1'), allowed)).mergeRequested).toBe(false);
  });

  it('retries a retryable step failure after a backoff, then fails the FR', () => {
    const rec = record('planning', 'plan');
    const backoff = { ...settings, retryBackoffMs: 5000 };
    const retrying = decide(rec, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }), backoff);
    const retry = next(retrying);
    // Backed off: the command waits in the outbox until its time, and the step's clock starts then.
    expect(retry).toMatchObject({ state: 'planning', step: 'plan', attempt: 2, stepStartedAt: '2026-11-24T10:00:05.000Z' });
    expect(effects(retrying).find((e) => e.kind === 'step')).toMatchObject({ step: 'plan', attempt: 2, notBefore: '2026-11-24T10:00:05.000Z' });
    const third = next(decide(retry, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }, 2), backoff));
    expect(third.outbox.filter((e) => e.kind === 'step')).toEqual([expect.objectContaining({ attempt: 3, notBefore: '2026-11-24T10:00:10.000Z' })]);
    // Any move ends a pending retry; without a backoff the retry goes at once.
    expect(next(decide(third, { kind: 'cancel', env: ids(third), by: 'ada', reason: 'x' }, settings)).outbox.some((e) => e.kind === 'step')).toBe(false);
    expect(
      effects(decide(rec, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }), settings)).find(
        (e) => e.kind === 'step',
      ),
    ).not.toHaveProperty('notBefore');
    const failed = next(decide(third, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }, 3), settings));
    expect(failed).toMatchObject({ state: 'failed', failure: { code: 'TIMEOUT', reason: 'slow' } });
    const permanent = next(
      decide(rec, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: false, code: 'LLM_ANSWER_INVALID', reason: 'not JSON' }), settings),
    );
    expect(permanent.state).toBe('failed');
  });

  it('blocks the FR on a dead letter of its current step only', () => {
    const rec = record('coding', 'code-r1', { round: 1 });
    const n = next(decide(rec, ev('dead-lettered', 'AgentDeadLettered', 'code-r1'), settings));
    expect(n.state).toBe('blocked');
    expect(n.failure?.reason).toMatch(/agency\.cmd\.router\.score\.v1 was dead-lettered after 5 delivery\(ies\): handler threw: boom/);
    // A dead letter of a step the saga has left says nothing about the current one.
    expect(decide(rec, ev('dead-lettered', 'AgentDeadLettered', 'plan'), settings)).toMatchObject({ kind: 'ignore', stale: true });
  });
});

describe('saga state machine: what it refuses and ignores', () => {
  it.each<[string, SagaRecord, SagaEvent]>([
    ['a plan result while coding', record('coding', 'code-r1', { round: 1 }), ev('planned', 'Planned', 'plan')],
    ['a test result before anything was coded', record('planning', 'plan'), ev('tested', 'Tested', 'plan')],
    ['a merge before a PR exists', record('reviewing', 'review-r1', { round: 1 }), ev('pr-merged', 'PrMerged', 'review-r1')],
    ['a PR for a saga still coding', record('coding', 'code-r1', { round: 1 }), ev('pr-opened', 'PrOpened', 'code-r1')],
    ['a review of an older round', record('reviewing', 'review-r2', { round: 2 }), ev('reviewed', 'Reviewed', 'review-r1')],
    ['a result of an attempt the saga never sent', record('planning', 'plan', { attempt: 2 }), ev('planned', 'Planned', 'plan', {}, 3)],
    ['a result of an earlier job of the run', record('planning', 'plan', { jobId: 'job-1-l2' }), ev('planned', 'Planned', 'plan', {}, 1, 'job-1')],
    [
      'a failure of an earlier job (JOB_CANCELLED of a cancelled lap)',
      record('testing', 'test-r1', { round: 1, jobId: 'job-1-l2' }),
      ev('step-failed', 'AgentStepFailed', 'test-r1', { code: 'JOB_CANCELLED', retryable: false }, 1, 'job-1'),
    ],
    ['a stale failure of a finished step', record('testing', 'test-r1', { round: 1 }), ev('step-failed', 'AgentStepFailed', 'code-r1', { retryable: false })],
    ['anything once done', record('done', 'merge-r1'), ev('pr-merged', 'PrMerged', 'merge')],
    ['a heartbeat of another step', record('testing', 'test-r1', { round: 1 }), ev('heartbeat', 'AgentHeartbeat', 'code-r1')],
    ['a dispatch of another job', record('queued', 'queue', { jobId: 'job-1-l2' }), ev('dispatched', 'JobDispatched', 'dispatch', { jobId: 'job-1' })],
  ])('ignores %s', (_name, rec, event) => {
    expect(decide(rec, event, settings).kind).toBe('ignore');
  });

  it('takes the result of an older attempt of the current step (the first to finish wins)', () => {
    const n = next(decide(record('planning', 'plan', { attempt: 2 }), ev('planned', 'Planned', 'plan', {}, 1), settings));
    expect(n.state).toBe('coding');
    // But an older attempt's failure says nothing about the one still running.
    expect(decide(record('planning', 'plan', { attempt: 2 }), ev('step-failed', 'AgentStepFailed', 'plan', { retryable: false }, 1), settings).kind).toBe(
      'ignore',
    );
  });

  it('repeats nothing for a redelivered event of the step just finished', () => {
    const after = next(decide(record('planning', 'plan'), ev('planned', 'Planned', 'plan'), settings));
    expect(decide(after, ev('planned', 'Planned', 'plan'), settings)).toMatchObject({ kind: 'ignore', stale: true });
  });

  it('records heartbeats without moving and without an effect', () => {
    const beat = decide(record('testing', 'test-r1', { round: 1 }), ev('heartbeat', 'AgentHeartbeat', 'test-r1'), settings);
    expect(beat).toMatchObject({ kind: 'apply', effects: [], next: { state: 'testing', lastHeartbeatAt: settings.now.toISOString() } });
  });
});

describe('saga state machine: timeouts from the sweeper', () => {
  const timeout = (step: string, attempt: number): SagaEvent => ({ kind: 'timeout', env: { sagaId: 'saga-1', step, attempt }, reason: 'was quiet for 200 s' });

  it('re-drives a quiet step with the next attempt, then fails the FR', () => {
    const rec = record('testing', 'test-r1', { round: 1, lastHeartbeatAt: '2026-11-24T09:01:00Z' });
    const redriven = decide(rec, timeout('test-r1', 1), settings);
    const second = next(redriven);
    expect(second).toMatchObject({ state: 'testing', step: 'test-r1', attempt: 2, stepStartedAt: settings.now.toISOString() });
    expect(second.lastHeartbeatAt).toBeUndefined();
    expect(kinds(redriven)).toEqual(['fr-file', 'step test-r1#2']);
    const third = next(decide(second, timeout('test-r1', 2), settings));
    const failed = next(decide(third, timeout('test-r1', 3), settings));
    expect(failed).toMatchObject({ state: 'failed', failure: { code: 'STEP_TIMEOUT', reason: 'test-r1 was quiet for 200 s 3 time(s)' } });
  });

  it('ignores a timeout that a result or another sweep overtook', () => {
    expect(decide(record('testing', 'test-r1', { round: 1, attempt: 2 }), timeout('test-r1', 1), settings).kind).toBe('ignore');
    expect(decide(record('reviewing', 'review-r1', { round: 1 }), timeout('test-r1', 1), settings).kind).toBe('ignore');
  });
});

describe('saga state machine: an automatic merge that fails', () => {
  it('leaves the PR to a person instead of blocking the FR', () => {
    const rec = record('awaiting-merge', 'merge-r1', { pr: { number: 3, url: 'u', draft: false }, mergeRequested: true, released: true });
    const n = next(decide(rec, ev('step-failed', 'GitStepFailed', 'merge-r1', { code: 'CHECKS_FAILING', reason: 'ci is red', retryable: false }), settings));
    expect(n).toMatchObject({ state: 'awaiting-merge', mergeRequested: false });
    const dl = next(decide(rec, ev('dead-lettered', 'GitDeadLettered', 'merge-r1'), settings));
    expect(dl).toMatchObject({ state: 'awaiting-merge', mergeRequested: false });
  });
});
