import type { Envelope, ReviewFindingDto, SagaState } from '@agency/contracts';
import { sampleEnvelope, sampleFr, sampleRepo, sampleStrategy, sampleWorkspace, sampleArtifact, samplePayloads } from '@agency/contracts/testing';
import { decide, type Decision, type MachineSettings, type SagaEvent } from './saga.machine.js';
import type { SagaRecord } from './saga.model.js';

const settings: MachineSettings = { now: new Date('2026-11-24T10:00:00Z'), stepMaxAttempts: 3, autoMergeAllowed: false, autoMergeMinConfidence: 0.85 };

function record(state: SagaState, step: string, patch: Partial<SagaRecord> = {}): SagaRecord {
  return {
    sagaId: 'saga-1', frId: 'FR-1', run: 1, state, step, attempt: 1, stepStartedAt: '2026-11-24T09:00:00Z',
    fr: sampleFr(), frPath: '10_features/04_in_progress/FR-1-greeting.md', repo: sampleRepo(),
    traceparent: `00-${'d'.repeat(32)}-${'e'.repeat(16)}-01`, traceId: 'd'.repeat(32), round: 0, reviews: [], lastFindings: [],
    costUsd: 0, history: [], createdAt: '2026-11-24T09:00:00Z', updatedAt: '2026-11-24T09:00:00Z', strategy: sampleStrategy(), ...patch,
  };
}

// Builds the event a service would send for the step the record waits on.
function ev<K extends SagaEvent['kind']>(kind: K, name: Parameters<typeof sampleEnvelope>[0], step: string, patch: Record<string, unknown> = {}, attempt = 1): SagaEvent {
  const env = sampleEnvelope(name, { step, attempt }) as unknown as Envelope<Record<string, unknown>>;
  env.payload = { ...env.payload, ...patch };
  return { kind, env } as unknown as SagaEvent;
}

function next(d: Decision): SagaRecord {
  if (d.kind === 'ignore') throw new Error(`ignored: ${d.reason}`);
  return d.next;
}

const ids = (r: SagaRecord) => ({ sagaId: r.sagaId, step: r.step, attempt: r.attempt });
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
    ['reviewing -> opening-pr on approve', record('reviewing', 'review-r1', { round: 1 }), ev('reviewed', 'Reviewed', 'review-r1'), 'opening-pr', 'open-pr'],
    ['opening-pr -> awaiting-merge on pr-opened', record('opening-pr', 'open-pr', { round: 1 }), ev('pr-opened', 'PrOpened', 'open-pr'), 'awaiting-merge', 'merge'],
    ['awaiting-merge -> done on pr-merged', record('awaiting-merge', 'merge', { pr: { number: 1, url: 'u', draft: false } }), ev('pr-merged', 'PrMerged', 'x'), 'done', 'merge'],
    ['awaiting-merge -> cancelled on pr-closed', record('awaiting-merge', 'merge', { pr: { number: 1, url: 'u', draft: false } }), ev('pr-closed', 'PrClosed', 'x'), 'cancelled', 'merge'],
  ])('%s', (_name, rec, event, state, step) => {
    const n = next(decide(rec, event, settings));
    expect(n.state).toBe(state);
    expect(n.step).toBe(step);
    expect(n.attempt).toBe(1);
    expect(n.history.at(-1)).toMatchObject({ from: rec.state, to: state, at: settings.now.toISOString() });
  });

  it('keeps what each step produced', () => {
    let r = next(decide(record('discovered', 'route'), ev('scored', 'FrScored', 'route', { score: 42 }), settings));
    expect(r.score).toBe(42);
    r = next(decide({ ...r, state: 'planning', step: 'plan' }, ev('planned', 'Planned', 'plan'), settings));
    expect(r.plan).toEqual(samplePayloads.Planned.plan);
    expect(r.round).toBe(1);
    r = next(decide(r, ev('coded', 'Coded', 'code-r1'), settings));
    expect(r.workspace).toEqual(sampleWorkspace());
    r = next(decide(r, ev('tested', 'Tested', 'test-r1', { passed: false, failureExcerpt: 'boom' }), settings));
    expect(r.tests).toMatchObject({ passed: false, failureExcerpt: 'boom' });
  });
});

describe('saga state machine: gates, loops and failures', () => {
  it('waits for plan approval when the tier asks for it, then codes or blocks', () => {
    const rec = record('planning', 'plan', { strategy: { ...sampleStrategy(), planApproval: true } });
    const waiting = next(decide(rec, ev('planned', 'Planned', 'plan'), settings));
    expect(waiting.state).toBe('awaiting-plan-approval');
    expect(next(decide(waiting, ev('approve', 'GateApprove', 'any', { gate: 'plan' }), settings))).toMatchObject({ state: 'coding', step: 'code-r1', round: 1 });
    expect(next(decide(waiting, ev('reject', 'GateReject', 'any', { gate: 'plan', by: 'ada', comment: 'too big' }), settings))).toMatchObject({
      state: 'blocked',
      failure: { code: 'PLAN_REJECTED', reason: 'plan rejected by ada: too big' },
    });
    expect(decide(waiting, ev('approve', 'GateApprove', 'any', { gate: 'pr' }), settings).kind).toBe('ignore');
  });

  it('sends request-changes back to the coder with the findings, up to the tier limit', () => {
    const rec = record('reviewing', 'review-r1', { round: 1 });
    const r2 = next(decide(rec, ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'request-changes', findings: [finding('trim the name')] }), settings));
    expect(r2).toMatchObject({ state: 'fixing', step: 'code-r2', round: 2 });
    expect(r2.lastFindings.map((f) => f.message)).toEqual(['trim the name']);
    // Round 2 of 2 requests changes again: stop, keep the work as a draft PR for a human.
    const atLimit = next(decide({ ...r2, state: 'reviewing', step: 'review-r2' }, ev('reviewed', 'Reviewed', 'review-r2', { verdict: 'request-changes', findings: [finding('new problem')] }), settings));
    expect(atLimit).toMatchObject({ state: 'opening-pr', step: 'open-pr', draftReason: 'review rounds exhausted (2)' });
  });

  it('stops early when a round brings no new finding instead of ping-ponging', () => {
    const rec = record('reviewing', 'review-r1', { round: 1, strategy: { ...sampleStrategy(), reviewRounds: 5 }, lastFindings: [finding('trim the name')] });
    const n = next(decide(rec, ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'request-changes', findings: [finding('Trim the name ')] }), settings));
    expect(n).toMatchObject({ state: 'opening-pr', draftReason: 'round 1 brought no new finding' });
  });

  it('blocks the FR when the reviewer rejects the change', () => {
    const n = next(decide(record('reviewing', 'review-r1', { round: 1 }), ev('reviewed', 'Reviewed', 'review-r1', { verdict: 'reject', summary: 'wrong approach' }), settings));
    expect(n).toMatchObject({ state: 'blocked', failure: { code: 'REVIEW_REJECTED', reason: 'wrong approach' } });
  });

  it('auto-merges only when policy, tier, tests and confidence all allow', () => {
    const base = record('opening-pr', 'open-pr', {
      round: 1,
      strategy: { ...sampleStrategy(), autoMerge: true },
      tests: { round: 1, passed: true, counts: { total: 1, passed: 1, failed: 0, skipped: 0 }, report: sampleArtifact(), failureExcerpt: '' },
      reviews: [{ round: 1, verdict: 'approve', confidence: 0.9, summary: 'ok', findings: 0, blocking: 0 }],
    });
    const allowed = { ...settings, autoMergeAllowed: true };
    expect(next(decide(base, ev('pr-opened', 'PrOpened', 'open-pr'), allowed)).mergeRequested).toBe(true);
    expect(next(decide(base, ev('pr-opened', 'PrOpened', 'open-pr'), settings)).mergeRequested).toBe(false);
    const lowConfidence = { ...base, reviews: [{ ...base.reviews[0]!, confidence: 0.5 }] };
    expect(next(decide(lowConfidence, ev('pr-opened', 'PrOpened', 'open-pr'), allowed)).mergeRequested).toBe(false);
    expect(next(decide(base, ev('pr-opened', 'PrOpened', 'open-pr', { draft: true }), allowed)).mergeRequested).toBe(false);
  });

  it('retries a retryable step failure, then fails the FR', () => {
    const rec = record('planning', 'plan');
    const backoff = { ...settings, retryBackoffMs: 5000 };
    const retry = next(decide(rec, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }), backoff));
    // Backed off: the command waits until notBefore, and the step's clock starts then.
    expect(retry).toMatchObject({ state: 'planning', step: 'plan', attempt: 2, notBefore: '2026-11-24T10:00:05.000Z', stepStartedAt: '2026-11-24T10:00:05.000Z' });
    const third = next(decide(retry, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }, 2), backoff));
    expect(third).toMatchObject({ attempt: 3, notBefore: '2026-11-24T10:00:10.000Z' });
    // Any move ends a pending retry; without a backoff the retry goes at once.
    expect(next(decide(third, { kind: 'cancel', env: ids(third), by: 'ada', reason: 'x' }, settings))).not.toHaveProperty('notBefore');
    expect(next(decide(rec, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }), settings))).not.toHaveProperty('notBefore');
    const failed = next(decide(third, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: true, code: 'TIMEOUT', reason: 'slow' }, 3), settings));
    expect(failed).toMatchObject({ state: 'failed', failure: { code: 'TIMEOUT', reason: 'slow' } });
    const permanent = next(decide(rec, ev('step-failed', 'AgentStepFailed', 'plan', { retryable: false, code: 'LLM_ANSWER_INVALID', reason: 'not JSON' }), settings));
    expect(permanent.state).toBe('failed');
  });

  it('blocks the FR on a dead letter of its current step, with the reason', () => {
    const n = next(decide(record('coding', 'code-r1', { round: 1 }), ev('dead-lettered', 'AgentDeadLettered', 'code-r1'), settings));
    expect(n.state).toBe('blocked');
    expect(n.failure?.reason).toMatch(/agency\.cmd\.router\.score\.v1 was dead-lettered after 5 delivery\(ies\): handler threw: boom/);
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
    ['a stale failure of a finished step', record('testing', 'test-r1', { round: 1 }), ev('step-failed', 'AgentStepFailed', 'code-r1', { retryable: false })],
    ['anything once done', record('done', 'merge'), ev('pr-merged', 'PrMerged', 'merge')],
    ['a heartbeat of another step', record('testing', 'test-r1', { round: 1 }), ev('heartbeat', 'AgentHeartbeat', 'code-r1')],
  ])('ignores %s', (_name, rec, event) => {
    expect(decide(rec, event, settings).kind).toBe('ignore');
  });

  it('takes the result of an older attempt of the current step (the first to finish wins)', () => {
    const n = next(decide(record('planning', 'plan', { attempt: 2 }), ev('planned', 'Planned', 'plan', {}, 1), settings));
    expect(n.state).toBe('coding');
    // But an older attempt's failure says nothing about the one still running.
    expect(decide(record('planning', 'plan', { attempt: 2 }), ev('step-failed', 'AgentStepFailed', 'plan', { retryable: false }, 1), settings).kind).toBe('ignore');
  });

  it('marks a redelivered event of the step just finished as a duplicate, so effects are re-driven', () => {
    const after = next(decide(record('planning', 'plan'), ev('planned', 'Planned', 'plan'), settings));
    const again = decide(after, ev('planned', 'Planned', 'plan'), settings);
    expect(again).toMatchObject({ kind: 'ignore', duplicate: true });
  });

  it('counts cost in any state and records heartbeats without moving', () => {
    const cost = decide(record('done', 'merge', { costUsd: 0.5 }), ev('usage', 'LlmUsage', 'x', { costUsd: 0.25 }), settings);
    expect(cost).toMatchObject({ kind: 'update', next: { costUsd: 0.75, state: 'done' } });
    const beat = decide(record('testing', 'test-r1', { round: 1 }), ev('heartbeat', 'AgentHeartbeat', 'test-r1'), settings);
    expect(beat).toMatchObject({ kind: 'update', next: { state: 'testing', lastHeartbeatAt: settings.now.toISOString() } });
  });
});

describe('saga state machine: timeouts from the sweeper', () => {
  const timeout = (step: string, attempt: number): SagaEvent => ({ kind: 'timeout', env: { sagaId: 'saga-1', step, attempt }, reason: 'was quiet for 200 s' });

  it('re-drives a quiet step with the next attempt, then fails the FR', () => {
    const rec = record('testing', 'test-r1', { round: 1, lastHeartbeatAt: '2026-11-24T09:01:00Z' });
    const second = next(decide(rec, timeout('test-r1', 1), settings));
    expect(second).toMatchObject({ state: 'testing', step: 'test-r1', attempt: 2, stepStartedAt: settings.now.toISOString() });
    expect(second.lastHeartbeatAt).toBeUndefined();
    const third = next(decide(second, timeout('test-r1', 2), settings));
    const failed = next(decide(third, timeout('test-r1', 3), settings));
    expect(failed).toMatchObject({ state: 'failed', failure: { code: 'STEP_TIMEOUT', reason: 'test-r1 was quiet for 200 s 3 time(s)' } });
  });

  it('ignores a timeout that a result or another sweep overtook', () => {
    expect(decide(record('testing', 'test-r1', { round: 1, attempt: 2 }), timeout('test-r1', 1), settings).kind).toBe('ignore');
    expect(decide(record('reviewing', 'review-r1', { round: 1 }), timeout('test-r1', 1), settings).kind).toBe('ignore');
  });
});

describe('saga state machine: cancel and retry from a person', () => {

  it('cancels a running FR and refuses to cancel a finished one', () => {
    const rec = record('coding', 'code-r1', { round: 1 });
    expect(next(decide(rec, { kind: 'cancel', env: ids(rec), by: 'ada', reason: 'not needed' }, settings))).toMatchObject({
      state: 'cancelled',
      failure: { code: 'CANCELLED', reason: 'cancelled by ada: not needed' },
    });
    const done = record('done', 'merge');
    expect(decide(done, { kind: 'cancel', env: ids(done), by: 'ada', reason: 'x' }, settings)).toMatchObject({ kind: 'ignore', reason: 'saga is done' });
  });

  it('ignores a cancel decided from the vault once the saga has moved on', () => {
    const rec = record('awaiting-merge', 'merge', { frPath: '10_features/05_in_review/FR-1-greeting.md' });
    const stale = { kind: 'cancel' as const, env: ids(rec), by: 'vault', reason: 'moved', ifUnchanged: { state: 'opening-pr' as const, frPath: '10_features/04_in_progress/FR-1-greeting.md' } };
    expect(decide(rec, stale, settings)).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('cancel by vault is stale') });
    const fresh = { ...stale, ifUnchanged: { state: rec.state, frPath: rec.frPath } };
    expect(next(decide(rec, fresh, settings)).state).toBe('cancelled');
  });

  it('retries a failed FR from the step that failed, with a new attempt', () => {
    const testing = record('testing', 'test-r1', { round: 1, attempt: 3 });
    const failed = next(decide(testing, { kind: 'timeout', env: ids(testing), reason: 'was quiet' }, settings));
    expect(failed.state).toBe('failed');
    const resumed = next(decide(failed, { kind: 'retry', env: ids(failed), by: 'ada' }, settings));
    expect(resumed).toMatchObject({ state: 'testing', step: 'test-r1', attempt: 4 });
    expect(resumed.failure).toBeUndefined();
  });

  it('refuses to retry an FR that is still running', () => {
    const rec = record('planning', 'plan');
    expect(decide(rec, { kind: 'retry', env: ids(rec), by: 'ada' }, settings)).toMatchObject({ kind: 'ignore', reason: 'FR-1 is planning; only a failed, blocked or cancelled FR can be retried' });
  });
});

describe('saga state machine: budget, draft PRs and human reviews', () => {
  it('stops cleanly at the budget: a draft PR when there is work, a failure when there is none', () => {
    const coding = record('testing', 'test-r1', { round: 1, costUsd: 4.9, workspace: sampleWorkspace() });
    const over = next(decide(coding, ev('usage', 'LlmUsage', 'llm', { costUsd: 0.2 }), settings));
    expect(over).toMatchObject({ state: 'opening-pr', step: 'open-pr', costUsd: 5.1, draftReason: 'budget of $5.00 exceeded ($5.1000 spent)' });
    const planning = record('planning', 'plan', { costUsd: 5 });
    expect(next(decide(planning, ev('usage', 'LlmUsage', 'llm', { costUsd: 1 }), settings))).toMatchObject({ state: 'failed', failure: { code: 'BUDGET_EXCEEDED' } });
    // Waiting for a merge, spending is over: cost is only counted.
    const waiting = record('awaiting-merge', 'merge', { costUsd: 9 });
    expect(decide(waiting, ev('usage', 'LlmUsage', 'llm', { costUsd: 1 }), settings)).toMatchObject({ kind: 'update', next: { costUsd: 10, state: 'awaiting-merge' } });
  });

  it('lets a round-1 coder over the budget hand in its checkpoints as a draft PR, and fails the FR when it hands in nothing', () => {
    const coding = record('coding', 'code-r1', { round: 1, costUsd: 4.9 });
    const stopping = decide(coding, ev('usage', 'LlmUsage', 'llm', { costUsd: 0.2 }), settings);
    expect(stopping).toMatchObject({ kind: 'update', next: { state: 'coding', costUsd: 5.1, budgetStop: 'budget of $5.00 exceeded ($5.1000 spent)' } });
    // More usage keeps the first reason.
    const still = next(decide(next(stopping), ev('usage', 'LlmUsage', 'llm', { costUsd: 0.1 }), settings));
    expect(still).toMatchObject({ state: 'coding', costUsd: 5.2, budgetStop: 'budget of $5.00 exceeded ($5.1000 spent)' });
    const handedIn = next(decide(still, ev('coded', 'Coded', 'code-r1'), settings));
    expect(handedIn).toMatchObject({ state: 'opening-pr', step: 'open-pr', draftReason: 'budget of $5.00 exceeded ($5.1000 spent)', workspace: expect.any(Object) });
    const nothing = next(decide(still, ev('step-failed', 'AgentStepFailed', 'code-r1', { code: 'BUDGET_EXCEEDED', reason: 'the gateway refused', retryable: false }), settings));
    expect(nothing).toMatchObject({ state: 'failed', failure: { code: 'BUDGET_EXCEEDED', reason: expect.stringContaining('the coder handed in no work (BUDGET_EXCEEDED: the gateway refused)') } });
    // A retry starts without the stop.
    expect(next(decide(nothing, { kind: 'retry', env: ids(nothing), by: 'ada' }, settings)).budgetStop).toBeUndefined();
  });

  it('remembers the draft PR a round pushed without moving', () => {
    const d = decide(record('reviewing', 'review-r1', { round: 1 }), ev('pr-opened', 'PrOpened', 'pr-r1', { number: 7, draft: true }), settings);
    expect(d).toMatchObject({ kind: 'update', next: { state: 'reviewing', pr: { number: 7, draft: true } } });
  });

  it('sends a human "changes requested" back to the coder, a bounded number of times', () => {
    const waiting = record('awaiting-merge', 'merge', { round: 2, pr: { number: 1, url: 'u', draft: false }, draftReason: 'x' });
    const fixing = next(decide(waiting, ev('pr-reviewed', 'PrReviewed', 'merge', { state: 'changes_requested', author: 'ada', body: 'Use trim()' }), settings));
    expect(fixing).toMatchObject({ state: 'fixing', step: 'code-r3', round: 3, humanRounds: 1 });
    expect(fixing.lastFindings[0]).toMatchObject({ blocking: true, message: 'ada requested changes on the PR: Use trim()' });
    expect(fixing.draftReason).toBeUndefined();
    const tired = { ...waiting, humanRounds: 3 };
    expect(decide(tired, ev('pr-reviewed', 'PrReviewed', 'merge', { state: 'changes_requested' }), settings).kind).toBe('ignore');
    expect(decide(waiting, ev('pr-reviewed', 'PrReviewed', 'merge', { state: 'approved' }), settings).kind).toBe('update');
  });
});

describe('saga state machine: an automatic merge that fails', () => {
  it('leaves the PR to a person instead of blocking the FR', () => {
    const rec = record('awaiting-merge', 'merge', { pr: { number: 3, url: 'u', draft: false }, mergeRequested: true });
    const n = next(decide(rec, ev('step-failed', 'GitStepFailed', 'merge', { code: 'CHECKS_FAILING', reason: 'ci is red', retryable: false }), settings));
    expect(n).toMatchObject({ state: 'awaiting-merge', mergeRequested: false });
    const dl = next(decide(rec, ev('dead-lettered', 'GitDeadLettered', 'merge'), settings));
    expect(dl).toMatchObject({ state: 'awaiting-merge', mergeRequested: false });
  });
});
