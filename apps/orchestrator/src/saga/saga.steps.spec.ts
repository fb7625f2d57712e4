import { Messages, validateMessage } from '@agency/contracts';
import { sampleArtifact, sampleEnvelope, sampleFr, sampleRepo, sampleStrategy, sampleWorkspace } from '@agency/contracts/testing';
import type { SagaRecord } from './saga.model.js';
import { changeSummary, draftPrCommand, stepCommand } from './saga.steps.js';

function testing(patch: Partial<SagaRecord> = {}): SagaRecord {
  return {
    sagaId: 'saga-1',
    frId: 'FR-1',
    run: 1,
    state: 'testing',
    step: 'test-r1',
    attempt: 1,
    stepStartedAt: '2026-11-24T09:00:00Z',
    fr: sampleFr(),
    frPath: '10_features/04_in_progress/FR-1-greeting.md',
    repo: sampleRepo(),
    workspace: sampleWorkspace(),
    traceparent: `00-${'d'.repeat(32)}-${'e'.repeat(16)}-01`,
    traceId: 'd'.repeat(32),
    round: 1,
    reviews: [],
    lastFindings: [],
    costUsd: 0,
    history: [],
    createdAt: '2026-11-24T09:00:00Z',
    updatedAt: '2026-11-24T09:00:00Z',
    strategy: sampleStrategy(),
    attemptBase: 1,
    tries: {},
    lap: 1,
    priorCostUsd: 0,
    usageIds: [],
    seq: 1,
    outbox: [],
    ...patch,
  };
}

describe('stepCommand: the test step', () => {
  it("carries the tier's sandbox limits to the tester, as a valid command", () => {
    const cmd = stepCommand(testing({ strategy: { ...sampleStrategy(), sandbox: { memoryMb: 1024, pids: 256 } } }), undefined)!;
    expect(cmd.def).toBe(Messages.Test);
    expect(cmd.payload).toMatchObject({ round: 1, sandbox: { memoryMb: 1024, pids: 256 } });
    const env = { ...sampleEnvelope('Test', { step: 'test-r1' }), payload: cmd.payload };
    expect(validateMessage(Messages.Test, env).ok).toBe(true);
  });

  it('leaves the limits out when the tier sets none (the runner keeps its defaults)', () => {
    expect(stepCommand(testing(), undefined)!.payload).not.toHaveProperty('sandbox');
  });

  it('refuses limits out of range with an error naming the field', () => {
    const env = { ...sampleEnvelope('Test', { step: 'test-r1' }), payload: { ...stepCommand(testing(), undefined)!.payload, sandbox: { memoryMb: 8 } } };
    const checked = validateMessage(Messages.Test, env);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.message).toContain('sandbox.memoryMb');
  });
});

describe('stepCommand: the review step', () => {
  it("passes the test step's lint result on to the reviewer, as a valid command", () => {
    const lint = { command: 'npm run lint', exitCode: 1, timedOut: false, durationMs: 800, outputTail: 'src/a.js:1  error  no-var\n' };
    const tests = {
      round: 1,
      passed: true,
      counts: { total: 1, passed: 1, failed: 0, skipped: 0 },
      format: 'node' as const,
      report: sampleArtifact(),
      failureExcerpt: '',
      lint,
    };
    const cmd = stepCommand(testing({ state: 'reviewing', step: 'review-r1', plan: sampleArtifact(), diff: sampleArtifact(), tests }), undefined)!;
    expect(cmd.def).toBe(Messages.Review);
    expect(cmd.payload).toMatchObject({ tests: { passed: true, lint } });
    expect(validateMessage(Messages.Review, { ...sampleEnvelope('Review', { step: 'review-r1' }), payload: cmd.payload }).ok).toBe(true);
  });
});

describe('stepCommand: what the reviewer and the PR are told', () => {
  const tests = {
    round: 2,
    passed: true,
    counts: { total: 0, passed: 0, failed: 0, skipped: 0 },
    format: 'unparsed' as const,
    exitCode: 0,
    report: sampleArtifact(),
    failureExcerpt: '',
  };
  const finding = { file: 'src/a.js', line: 3, severity: 'major' as const, message: 'trim the name', blocking: true };

  it("gives the reviewer this round's coder summary and the previous round's verdict and findings", () => {
    const cmd = stepCommand(
      testing({
        state: 'reviewing',
        step: 'review-r2',
        round: 2,
        tests,
        plan: sampleArtifact(),
        diff: sampleArtifact(),
        coderSummary: 'Trimmed the name.',
        lastReview: { round: 1, verdict: 'request-changes', findings: [finding] },
      }),
      undefined,
    )!;
    expect(cmd.def).toBe(Messages.Review);
    expect(cmd.payload).toMatchObject({
      round: 2,
      coderSummary: 'Trimmed the name.',
      earlier: { round: 1, verdict: 'request-changes', findings: [finding] },
      tests: { format: 'unparsed' },
    });
    expect(validateMessage(Messages.Review, { ...sampleEnvelope('Review', { step: 'review-r2' }), payload: cmd.payload }).ok).toBe(true);
    // Round 1 has no earlier round.
    expect(
      stepCommand(testing({ state: 'reviewing', step: 'review-r1', round: 1, tests, plan: sampleArtifact(), diff: sampleArtifact() }), undefined)!.payload,
    ).not.toHaveProperty('earlier');
  });

  it("fills the PR: the coder's summary, why it is a draft, the FR's path in review, the cost of all runs, and no 0/0 for unparsed output", () => {
    const rec = testing({
      state: 'opening-pr',
      step: 'open-pr-r2',
      round: 2,
      tests,
      coderSummary: 'Trimmed the name.',
      draftReason: 'review rounds exhausted (2)',
      costUsd: 0.25,
      priorCostUsd: 1.5,
    });
    const cmd = stepCommand(rec, 'http://jaeger/t')!;
    expect(cmd.def).toBe(Messages.OpenPr);
    expect(cmd.payload).toMatchObject({
      draft: true,
      labels: ['agency', 'tier:small', 'agency:needs-human'],
      fr: { id: 'FR-1', path: '10_features/05_in_review/FR-1-greeting.md' },
      context: {
        changeSummary: 'Trimmed the name.',
        draftReason: 'review rounds exhausted (2)',
        costUsd: 1.75,
        testSummary: 'passed: exit code 0, output not in a known format (no test counts) (round 2)',
      },
    });
    expect(validateMessage(Messages.OpenPr, { ...sampleEnvelope('OpenPr', { step: 'open-pr-r2' }), payload: cmd.payload }).ok).toBe(true);
    // The round's draft PR while it works: in progress, in 04_in_progress, no draft reason.
    const draft = draftPrCommand({ ...rec, state: 'reviewing', draftReason: undefined }, undefined)!;
    expect(draft.payload).toMatchObject({
      draft: true,
      labels: ['agency', 'tier:small', 'agency:in-progress'],
      fr: { path: '10_features/04_in_progress/FR-1-greeting.md' },
    });
    expect((draft.payload as { context: object }).context).not.toHaveProperty('draftReason');
  });

  it("adds the lint the test step ran under the PR's test counts, and says when a configured lint did not run", () => {
    const lint = { command: 'npm run lint', exitCode: 0, timedOut: false, durationMs: 800, outputTail: '' };
    const repo = { ...sampleRepo(), lintCommand: 'npm run lint' };
    const summary = (rec: SagaRecord) => (stepCommand(rec, undefined)!.payload as { context: { testSummary: string } }).context.testSummary;
    expect(summary(testing({ state: 'opening-pr', step: 'open-pr-r2', round: 2, repo, tests: { ...tests, lint } }))).toBe(
      'passed: exit code 0, output not in a known format (no test counts) (round 2)\nlint: `npm run lint` passed',
    );
    expect(summary(testing({ state: 'opening-pr', step: 'open-pr-r2', round: 2, repo, tests }))).toBe(
      'passed: exit code 0, output not in a known format (no test counts) (round 2)\nlint: `npm run lint` not run',
    );
  });

  it("lists the last review's findings under its round, blocking or not, so the notes reach the human who merges (they were counted only)", () => {
    const rec = testing({
      state: 'opening-pr',
      step: 'open-pr-r1',
      tests,
      reviews: [{ round: 1, verdict: 'approve', confidence: 0.9, summary: 'Looks right.', findings: 2, blocking: 0 }],
      lastReview: {
        round: 1,
        verdict: 'approve',
        findings: [
          { file: 'src/a.js', line: 3, severity: 'minor', message: 'Name the\nconstant.', blocking: false, suggestion: 'const LIMIT = 3;' },
          { file: '', severity: 'minor', message: 'README could mention the option.', blocking: false },
          { file: 'src/b.js', severity: 'minor', message: `${'word '.repeat(100)}end`, blocking: false },
        ],
      },
    });
    const cmd = stepCommand(rec, undefined)!;
    const [round] = (cmd.payload as { context: { reviewRounds: string[] } }).context.reviewRounds;
    expect(round!.split('\n').slice(0, 3)).toEqual([
      'round 1: approve (confidence 0.90, 2 finding(s), 0 blocking): Looks right.',
      '- `src/a.js:3` [minor] Name the constant. Suggestion: const LIMIT = 3;',
      '- (whole change) [minor] README could mention the option.',
    ]);
    // A long message is cut between words (a pathe trial's PR cut one mid-word).
    expect(round!.split('\n')[3]).toMatch(/^- `src\/b\.js` \[minor\] (word ){79}word…$/);
  });

  it('lists which review rules each round applied and which not, with why', () => {
    const rules = { applied: ['tests-required'], skipped: [{ id: 'src-style', reason: 'no changed file matches src/**' }] };
    const rec = testing({
      state: 'opening-pr',
      step: 'open-pr-r1',
      tests,
      reviews: [{ round: 1, verdict: 'approve', confidence: 0.9, summary: 'Looks right.', findings: 0, blocking: 0, rules }],
    });
    expect((stepCommand(rec, undefined)!.payload as { context: { reviewRounds: string[] } }).context.reviewRounds).toEqual([
      'round 1: approve (confidence 0.90, 0 finding(s), 0 blocking): Looks right.\n' +
        '- review rules: applied tests-required; not applied: src-style (no changed file matches src/**)',
    ]);
  });

  it('tells every round in the PR\'s "What changed", the main change first (only the last round\'s small fix was shown)', () => {
    const rounds = [
      { round: 1, summary: 'Added filterQuery() to src/utils.ts, with tests.' },
      { round: 2, summary: 'Kept empty values, as the review asked.' },
    ];
    expect(changeSummary({ roundSummaries: rounds, coderSummary: 'Kept empty values, as the review asked.' })).toBe(
      'Round 1: Added filterQuery() to src/utils.ts, with tests.\n\nRound 2 (after review): Kept empty values, as the review asked.',
    );
    expect(changeSummary({ roundSummaries: rounds.slice(0, 1) })).toBe('Added filterQuery() to src/utils.ts, with tests.');
    // A record from before the rounds were kept.
    expect(changeSummary({ coderSummary: 'Trimmed the name.' })).toBe('Trimmed the name.');
    const cmd = stepCommand(
      testing({ state: 'opening-pr', step: 'open-pr-r2', round: 2, tests, roundSummaries: rounds, coderSummary: rounds[1]!.summary }),
      undefined,
    )!;
    expect((cmd.payload as { context: { changeSummary: string } }).context.changeSummary).toContain('Round 1: Added filterQuery()');
  });

  it('drops a round label the coder wrote itself where the PR labels the round (relay trial rou3: "Round 2 (after review): Round 2: ...")', () => {
    const rounds = [
      { round: 1, summary: 'R1: Added filterQuery().' },
      { round: 2, summary: 'Round 2: the end-of-path fallback considers the last named segment.' },
    ];
    expect(changeSummary({ roundSummaries: rounds })).toBe(
      'Round 1: Added filterQuery().\n\nRound 2 (after review): the end-of-path fallback considers the last named segment.',
    );
    // One round is shown without a label of the agency's, so the coder's words stay whole.
    expect(changeSummary({ roundSummaries: rounds.slice(1) })).toBe('Round 2: the end-of-path fallback considers the last named segment.');
  });
});
