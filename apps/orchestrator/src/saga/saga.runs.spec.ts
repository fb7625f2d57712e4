import { sampleArtifact, sampleWorkspace } from '@agency/contracts/testing';
import { effects, ev, ids, kinds, next, record, settings } from '../../test/support/saga.fixtures.js';
import { decide, startEffects } from './saga.machine.js';

describe('runs: cancel closes the PR and deletes the branch', () => {
  it('cancels a running FR: the job is freed and stopped, its PR closed and its branch deleted', () => {
    const rec = record('reviewing', 'review-r1', { round: 1, workspace: sampleWorkspace(), pr: { number: 7, url: 'u', draft: true } });
    const d = decide(rec, { kind: 'cancel', env: ids(rec), by: 'ada', reason: 'not needed' }, settings);
    expect(next(d)).toMatchObject({ state: 'cancelled', failure: { code: 'CANCELLED', reason: 'cancelled by ada: not needed' }, released: true });
    expect(kinds(d)).toEqual(['fr-file', 'state-changed', 'complete-job', 'cleanup', 'close-pr']);
    expect(effects(d).slice(2)).toMatchObject([
      { kind: 'complete-job', jobId: 'job-1', outcome: 'cancelled' },
      { kind: 'cleanup', jobId: 'job-1', cancel: true },
      { kind: 'close-pr', number: 7, deleteBranch: true, reason: 'cancelled: cancelled by ada: not needed' },
    ]);
    // The setting keeps the branch; a run with a pushed branch but no PR yet loses the branch.
    expect(effects(decide(rec, { kind: 'cancel', env: ids(rec), by: 'ada', reason: 'x' }, { ...settings, keepBranches: true })).at(-1)).toMatchObject({
      kind: 'close-pr',
      deleteBranch: false,
    });
    const noPr = { ...rec, pr: undefined };
    // A draft PR may be in flight without the saga knowing its number: ending the branch closes it too.
    expect(effects(decide(noPr, { kind: 'cancel', env: ids(noPr), by: 'ada', reason: 'x' }, settings)).at(-1)).toMatchObject({
      kind: 'close-branch',
      branch: sampleWorkspace().branch,
      deleteBranch: true,
    });
    expect(effects(decide(noPr, { kind: 'cancel', env: ids(noPr), by: 'ada', reason: 'x' }, { ...settings, keepBranches: true })).at(-1)).toMatchObject({
      kind: 'close-branch',
      deleteBranch: false,
    });
  });

  it('refuses to cancel a finished FR', () => {
    const done = record('done', 'merge-r1');
    expect(decide(done, { kind: 'cancel', env: ids(done), by: 'ada', reason: 'x' }, settings)).toMatchObject({ kind: 'ignore', reason: 'saga is done' });
  });

  it('ignores a cancel decided from the vault once the saga has moved on: its state, or only its file', () => {
    const rec = record('awaiting-merge', 'merge-r1', { frPath: '10_features/05_in_review/FR-1-greeting.md' });
    const stale = {
      kind: 'cancel' as const,
      env: ids(rec),
      by: 'vault',
      reason: 'moved',
      ifUnchanged: { state: 'opening-pr' as const, frPath: '10_features/04_in_progress/FR-1-greeting.md' },
    };
    expect(decide(rec, stale, settings)).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('cancel by vault is stale') });
    // Same state, but the saga has moved its file since the cancel was decided.
    const movedFile = { ...stale, ifUnchanged: { state: rec.state, frPath: '10_features/04_in_progress/FR-1-greeting.md' } };
    expect(decide(rec, movedFile, settings)).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('cancel by vault is stale') });
    const fresh = { ...stale, ifUnchanged: { state: rec.state, frPath: rec.frPath } };
    expect(next(decide(rec, fresh, settings)).state).toBe('cancelled');
  });

  it('closes and deletes on a rejected PR, with the real reason kept', () => {
    const rec = record('awaiting-merge', 'merge-r1', { pr: { number: 2, url: 'u', draft: false }, released: true, workspace: sampleWorkspace() });
    const d = decide(rec, ev('reject', 'GateReject', 'merge-r1', { gate: 'pr', by: 'ada', comment: 'wrong idea' }), settings);
    expect(next(d)).toMatchObject({ state: 'cancelled', failure: { code: 'PR_REJECTED', reason: 'PR rejected by ada: wrong idea' } });
    // The job was freed when the PR opened: only the forge is cleaned.
    expect(kinds(d)).toEqual(['fr-file', 'state-changed', 'close-pr']);
    expect(effects(d).at(-1)).toMatchObject({ kind: 'close-pr', number: 2, deleteBranch: true, reason: 'cancelled: PR rejected by ada: wrong idea' });
  });
});

describe('runs: retry resumes with a job of its own', () => {
  it('retries a failed FR as a new lap: a new job through the queue, then the step that failed with an attempt never sent', () => {
    const testing = record('testing', 'test-r1', {
      round: 1,
      attempt: 3,
      tries: { 'test-r1': 3 },
      workspace: sampleWorkspace(),
      pr: { number: 5, url: 'u', draft: true },
    });
    const failed = next(decide(testing, { kind: 'timeout', env: ids(testing), reason: 'was quiet' }, settings));
    expect(failed).toMatchObject({ state: 'failed', released: true });
    const retried = decide(failed, { kind: 'retry', env: ids(failed), by: 'ada' }, settings);
    const waiting = next(retried);
    expect(waiting).toMatchObject({
      state: 'routed',
      step: 'queue',
      lap: 2,
      jobId: 'job-saga-1-l2',
      released: false,
      resume: { state: 'testing', step: 'test-r1', attempt: 4, round: 1 },
    });
    expect(waiting.failure).toBeUndefined();
    expect(waiting.pr).toBeUndefined();
    expect(kinds(retried)).toEqual(['fr-file', 'state-changed', 'step queue#1']);
    const resumed = next(decide(waiting, ev('dispatched', 'JobDispatched', 'dispatch', { jobId: 'job-saga-1-l2' }, 1, 'job-saga-1-l2'), settings));
    expect(resumed).toMatchObject({ state: 'testing', step: 'test-r1', attempt: 4, attemptBase: 4, jobId: 'job-saga-1-l2' });
    expect(resumed.resume).toBeUndefined();
    // The retried step gets its full retries again, counted from its new first attempt.
    const again = next(
      decide(resumed, ev('step-failed', 'AgentStepFailed', 'test-r1', { retryable: true, code: 'SANDBOX_BUSY', reason: 'busy' }, 4, 'job-saga-1-l2'), settings),
    );
    expect(again).toMatchObject({ state: 'testing', attempt: 5 });
  });

  it('plans again after a rejected plan, and opens the PR again after a cancel at the merge', () => {
    const rejected = next(
      decide(record('awaiting-plan-approval', 'plan-approval', { tries: { plan: 2 } }), ev('reject', 'GateReject', 'x', { gate: 'plan', by: 'ada' }), settings),
    );
    expect(next(decide(rejected, { kind: 'retry', env: ids(rejected), by: 'ada' }, settings)).resume).toEqual({
      state: 'planning',
      step: 'plan',
      attempt: 3,
      round: 0,
    });
    const merged = record('awaiting-merge', 'merge-r1', { round: 1, pr: { number: 1, url: 'u', draft: false }, released: true });
    const cancelled = next(decide(merged, { kind: 'cancel', env: ids(merged), by: 'ada', reason: 'later' }, settings));
    expect(next(decide(cancelled, { kind: 'retry', env: ids(cancelled), by: 'ada' }, settings)).resume).toEqual({
      state: 'opening-pr',
      step: 'open-pr-r1',
      attempt: 1,
      round: 1,
    });
  });

  it('routes again without a new lap when the router failed, and refuses to retry a running FR', () => {
    const failed = next(
      decide(record('discovered', 'route', { jobId: undefined }), ev('step-failed', 'RouterStepFailed', 'route', { retryable: false }), settings),
    );
    expect(next(decide(failed, { kind: 'retry', env: ids(failed), by: 'ada' }, settings))).toMatchObject({
      state: 'discovered',
      step: 'route',
      attempt: 2,
      lap: 1,
    });
    const rec = record('planning', 'plan');
    expect(decide(rec, { kind: 'retry', env: ids(rec), by: 'ada' }, settings)).toMatchObject({
      kind: 'ignore',
      reason: 'FR-1 is planning; only a failed, blocked or cancelled FR can be retried',
    });
  });
});

describe('runs: a fresh run of the FR', () => {
  it("closes the earlier run's PR and deletes its branch before it starts from the base", () => {
    const fresh = record('discovered', 'route', { sagaId: 'FR-1-r2', seq: 0 });
    const earlier = record('cancelled', 'code-r2', { sagaId: 'FR-1-r1', pr: { number: 3, url: 'u', draft: true }, workspace: sampleWorkspace() });
    expect(startEffects(fresh, earlier, 'taken')).toEqual([
      { id: 'FR-1-r2:t0:fr-file', seq: 0, kind: 'fr-file', log: 'taken' },
      { id: 'FR-1-r2:t0:step', seq: 0, kind: 'step', step: 'route', attempt: 1 },
      { id: 'FR-1-r2:t0:close-pr-3', seq: 0, kind: 'close-pr', number: 3, deleteBranch: true, reason: 'replaced by a fresh run of FR-1 (FR-1-r2)' },
    ]);
    expect(startEffects(fresh, { ...earlier, pr: undefined }, 'taken').at(-1)).toMatchObject({
      kind: 'close-branch',
      branch: sampleWorkspace().branch,
      deleteBranch: true,
    });
    expect(startEffects(fresh, undefined, 'taken').map((e) => e.kind)).toEqual(['fr-file', 'step']);
  });
});

describe('runs: budget, stopped coders and exactly-once accounting', () => {
  it('counts each usage event once, whatever the redeliveries, in any state', () => {
    const usage = ev('usage', 'LlmUsage', 'x', { costUsd: 0.25 });
    const id = (usage.env as { id: string }).id;
    const once = next(decide(record('done', 'merge-r1', { costUsd: 0.5 }), usage, settings));
    expect(once).toMatchObject({ costUsd: 0.75, state: 'done', usageIds: [id] });
    expect(decide(once, usage, settings)).toMatchObject({ kind: 'ignore', reason: `usage event ${id} was counted already` });
  });

  it('stops cleanly at the budget: a draft PR when there is work, a failure when there is none', () => {
    const testing = record('testing', 'test-r1', { round: 1, costUsd: 4.9, workspace: sampleWorkspace() });
    const over = next(decide(testing, ev('usage', 'LlmUsage', 'llm', { costUsd: 0.2 }), settings));
    expect(over).toMatchObject({ state: 'opening-pr', step: 'open-pr-r1', costUsd: 5.1, draftReason: 'budget of $5.00 exceeded ($5.1000 spent)' });
    const planning = record('planning', 'plan', { costUsd: 5 });
    expect(next(decide(planning, ev('usage', 'LlmUsage', 'llm', { costUsd: 1 }), settings))).toMatchObject({
      state: 'failed',
      failure: { code: 'BUDGET_EXCEEDED' },
    });
    const waiting = record('awaiting-merge', 'merge-r1', { costUsd: 9 });
    expect(decide(waiting, ev('usage', 'LlmUsage', 'llm', { costUsd: 1 }), settings)).toMatchObject({
      kind: 'apply',
      effects: [],
      next: { costUsd: 10, state: 'awaiting-merge' },
    });
  });

  it("shows a model call's cost that arrives after the PR opened: the open PR's description is rendered again (relay trials: short by the last call)", () => {
    const pr = { number: 7, url: 'local://x/pulls/7', draft: false };
    const open = record('awaiting-merge', 'merge-r1', { round: 1, costUsd: 0.2, pr, workspace: sampleWorkspace() });
    const usage = ev('usage', 'LlmUsage', 'llm', { costUsd: 0.05 });
    const late = decide(open, usage, settings);
    expect(kinds(late)).toEqual(['refresh-pr']);
    expect(effects(late)[0]).toMatchObject({ kind: 'refresh-pr', round: 1, id: `${open.sagaId}:t${open.seq + 1}:refresh-pr` });
    expect(next(late)).toMatchObject({ state: 'awaiting-merge', costUsd: 0.25, seq: open.seq + 1 });
    expect(next(late).outbox.map((e) => e.kind)).toEqual(['refresh-pr']);
    // The same event again is not counted or refreshed twice.
    expect(decide(next(late), usage, settings).kind).toBe('ignore');
    // Its answer (a pr-opened of the draft family) only records the PR.
    const answered = decide(next(late), ev('pr-opened', 'PrOpened', `pr-r1-cost-${open.seq + 1}`, { number: 7, draft: false }), settings);
    expect(kinds(answered)).toEqual([]);
    expect(next(answered)).toMatchObject({ state: 'awaiting-merge', pr: { number: 7 } });
    // An auto-merge under way is not held up by a description.
    expect(kinds(decide({ ...open, mergeRequested: true }, ev('usage', 'LlmUsage', 'llm', { costUsd: 0.05 }), settings))).toEqual([]);
  });

  it('marks a cost that arrives while the PR is being opened, and refreshes the description once it is open', () => {
    const opening = record('opening-pr', 'open-pr-r1', { round: 1, costUsd: 0.2, workspace: sampleWorkspace() });
    const late = next(decide(opening, ev('usage', 'LlmUsage', 'llm', { costUsd: 0.05 }), settings));
    expect(late).toMatchObject({ state: 'opening-pr', costUsd: 0.25, prCostStale: true });
    const opened = decide(late, ev('pr-opened', 'PrOpened', 'open-pr-r1', { number: 7 }), settings);
    expect(kinds(opened)).toContain('refresh-pr');
    expect(next(opened)).toMatchObject({ state: 'awaiting-merge', prCostStale: false });
    // Without a late cost, opening the PR refreshes nothing.
    expect(kinds(decide(opening, ev('pr-opened', 'PrOpened', 'open-pr-r1', { number: 7 }), settings))).not.toContain('refresh-pr');
  });

  it('lets a coder over the budget hand in its checkpoints as a draft PR, and fails the FR when it hands in nothing', () => {
    const coding = record('coding', 'code-r1', { round: 1, costUsd: 4.9 });
    const stopping = decide(coding, ev('usage', 'LlmUsage', 'llm', { costUsd: 0.2 }), settings);
    expect(stopping).toMatchObject({
      kind: 'apply',
      effects: [],
      next: { state: 'coding', costUsd: 5.1, budgetStop: 'budget of $5.00 exceeded ($5.1000 spent)' },
    });
    const still = next(decide(next(stopping), ev('usage', 'LlmUsage', 'llm', { costUsd: 0.1 }), settings));
    expect(still).toMatchObject({ state: 'coding', costUsd: 5.2, budgetStop: 'budget of $5.00 exceeded ($5.1000 spent)' });
    const handedIn = next(decide(still, ev('coded', 'Coded', 'code-r1'), settings));
    expect(handedIn).toMatchObject({
      state: 'opening-pr',
      step: 'open-pr-r1',
      stopped: { code: 'BUDGET_EXCEEDED' },
      draftReason: 'the coder stopped early (BUDGET_EXCEEDED): budget of $5.00 exceeded ($5.1000 spent)',
    });
    const nothing = next(
      decide(still, ev('step-failed', 'AgentStepFailed', 'code-r1', { code: 'BUDGET_EXCEEDED', reason: 'the gateway refused', retryable: false }), settings),
    );
    expect(nothing).toMatchObject({
      state: 'failed',
      failure: { code: 'BUDGET_EXCEEDED', reason: expect.stringContaining('the coder handed in no work (BUDGET_EXCEEDED: the gateway refused)') },
    });
    expect(next(decide(nothing, { kind: 'retry', env: ids(nothing), by: 'ada' }, settings)).budgetStop).toBeUndefined();
  });

  it('turns a coder that stopped at its limits into a draft PR that says why, in round 1 or a fix round, with no more rounds', () => {
    const stopped = { code: 'STEP_LIMIT', reason: 'reached 40 steps' };
    for (const [state, step, round] of [
      ['coding', 'code-r1', 1],
      ['fixing', 'code-r2', 2],
    ] as const) {
      const d = decide(record(state, step, { round }), ev('coded', 'Coded', step, { stopped }), settings);
      expect(next(d)).toMatchObject({
        state: 'opening-pr',
        step: `open-pr-r${round}`,
        stopped,
        draftReason: 'the coder stopped early (STEP_LIMIT): reached 40 steps',
        coderSummary: 'Added greet()',
      });
      expect(kinds(d)).toContain(`step open-pr-r${round}#1`);
    }
  });
});

describe("runs: a person's review rounds on the PR", () => {
  const waiting = () =>
    record('awaiting-merge', 'merge-r2', {
      round: 2,
      pr: { number: 1, url: 'u', draft: false },
      draftReason: 'x',
      released: true,
      workspace: sampleWorkspace(),
    });

  it('takes a new lap with a job slot of its own, then fixes with the review as a blocking finding', () => {
    const d = decide(waiting(), ev('pr-reviewed', 'PrReviewed', 'merge', { state: 'changes_requested', author: 'ada', body: 'Use trim()' }), settings);
    const queued = next(d);
    expect(queued).toMatchObject({
      state: 'routed',
      step: 'queue',
      lap: 2,
      jobId: 'job-saga-1-l2',
      humanRounds: 1,
      resume: { state: 'fixing', step: 'code-r3', round: 3, attempt: 1 },
    });
    expect(queued.draftReason).toBeUndefined();
    expect(queued.lastFindings[0]).toMatchObject({ blocking: true, message: 'ada requested changes on the PR: Use trim()' });
    expect(kinds(d)).toEqual(['fr-file', 'state-changed', 'step queue#1']);
    const fixing = next(decide(queued, ev('dispatched', 'JobDispatched', 'dispatch', { jobId: 'job-saga-1-l2' }), settings));
    expect(fixing).toMatchObject({ state: 'fixing', step: 'code-r3', round: 3, jobId: 'job-saga-1-l2' });
    // Its tests, review and PR update are steps of their own round: never deduplicated with round 2's.
    const tested = next(decide({ ...fixing, state: 'testing', step: 'test-r3' }, ev('tested', 'Tested', 'test-r3', {}, 1, 'job-saga-1-l2'), settings));
    expect(tested).toMatchObject({ state: 'reviewing', step: 'review-r3' });
    const approved = decide(tested, ev('reviewed', 'Reviewed', 'review-r3', { round: 3, findings: [] }, 1, 'job-saga-1-l2'), settings);
    expect(next(approved)).toMatchObject({ state: 'opening-pr', step: 'open-pr-r3' });
    const again = decide(next(approved), ev('pr-opened', 'PrOpened', 'open-pr-r3', { created: false }, 1, 'job-saga-1-l2'), settings);
    expect(next(again)).toMatchObject({ state: 'awaiting-merge', step: 'merge-r3', released: true });
    expect(effects(again).filter((e) => e.kind === 'complete-job')).toMatchObject([{ jobId: 'job-saga-1-l2', outcome: 'succeeded' }]);
  });

  it('stops answering after a bounded number of rounds, and only records approvals and comments', () => {
    expect(decide({ ...waiting(), humanRounds: 3 }, ev('pr-reviewed', 'PrReviewed', 'merge', { state: 'changes_requested' }), settings).kind).toBe('ignore');
    expect(decide(waiting(), ev('pr-reviewed', 'PrReviewed', 'merge', { state: 'approved' }), settings)).toMatchObject({ kind: 'apply', effects: [] });
  });

  it('is done when a person merges the PR while the agency works on a review round', () => {
    const fixing = record('fixing', 'code-r3', { round: 3, pr: { number: 1, url: 'u', draft: true }, jobId: 'job-saga-1-l2', lap: 2 });
    const d = decide(fixing, ev('pr-merged', 'PrMerged', 'merge', { number: 1 }), settings);
    expect(next(d).state).toBe('done');
    expect(effects(d).filter((e) => e.kind === 'cleanup')).toMatchObject([{ jobId: 'job-saga-1-l2', cancel: true }]);
  });

  it('remembers the draft PR a round pushed without moving', () => {
    const d = decide(
      record('reviewing', 'review-r1', {
        round: 1,
        tests: { round: 1, passed: true, counts: { total: 1, passed: 1, failed: 0, skipped: 0 }, report: sampleArtifact(), failureExcerpt: '' },
      }),
      ev('pr-opened', 'PrOpened', 'pr-r1', { number: 7, draft: true }),
      settings,
    );
    expect(d).toMatchObject({ kind: 'apply', effects: [], next: { state: 'reviewing', pr: { number: 7, draft: true } } });
  });
});
