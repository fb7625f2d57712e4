import { withoutRoundLabel, type CoderStopDto, type ReviewFindingDto } from '@agency/contracts';
import type { SagaRecord } from '../saga.model.js';
import { testVerdict } from '../test-summary.js';
import { codeStep, openPrStep, reviewStep, testStep, type Decision, type EventOf, type Transition } from './decision.js';
import { matchesStep, stale } from './guards.js';

/** Planning, coding, testing and review rounds. */
export function onPlanned(t: Transition, e: EventOf<'planned'>): Decision {
  const r = t.record;
  if (r.state !== 'planning' || !matchesStep(r, e.env)) return stale(r, e, ['planning']);
  const p = e.env.payload;
  const patch = { plan: p.plan, planSummary: p.summary };
  if (r.strategy?.planApproval) return t.to('awaiting-plan-approval', 'plan-approval', patch, { log: `plan ready, waiting for approval: ${p.summary}` });
  return t.to('coding', codeStep(1), { ...patch, round: 1 }, { log: `planned (${p.stepCount} steps); coding` });
}

export function describeStop(stop: CoderStopDto): string {
  return `the coder stopped early (${stop.code}): ${stop.reason}`;
}

/**
 * A coder that stopped at its limits (steps, repeats, time, budget) hands in its checkpoints:
 * they become a draft PR that says why, and no more rounds run.
 */
export function onCoded(t: Transition, e: EventOf<'coded'>): Decision {
  const r = t.record;
  if ((r.state !== 'coding' && r.state !== 'fixing') || !matchesStep(r, e.env)) return stale(r, e, ['coding', 'fixing']);
  const p = e.env.payload;
  // A re-driven round replaces its own summary; the earlier rounds' stay for the PR's "What changed".
  const roundSummaries = [...(r.roundSummaries ?? []).filter((s) => s.round < r.round), { round: r.round, summary: p.summary }];
  const work = { workspace: p.workspace, diff: p.diff, coderSummary: p.summary, roundSummaries };
  const stopped = p.stopped ?? (r.budgetStop ? { code: 'BUDGET_EXCEEDED' as const, reason: r.budgetStop } : undefined);
  if (stopped) {
    const why = describeStop(stopped);
    return t.to(
      'opening-pr',
      openPrStep(r.round),
      { ...work, stopped, draftReason: why },
      { log: `round ${r.round}: ${why}; opening a draft PR with the ${p.commits} commit(s) handed in`, reason: why },
    );
  }
  // The counts are the branch's since its base (what the PR holds), not this round's alone: said so after round 1 (a trial read them as the round's).
  const counted = `${p.commits} commit(s), ${p.filesChanged.length} file(s)`;
  return t.to('testing', testStep(r.round), work, {
    log: `round ${r.round}: ${r.round > 1 ? `the branch now has ${counted}` : counted}: ${briefSummary(p.summary)}`,
  });
}

/** Tested: on to the review, and the round's work goes up as a draft PR meanwhile. */
export function onTested(t: Transition, e: EventOf<'tested'>): Decision {
  const r = t.record;
  if (r.state !== 'testing' || !matchesStep(r, e.env)) return stale(r, e, ['testing']);
  const p = e.env.payload;
  const tests = {
    round: p.round,
    passed: p.passed,
    counts: p.counts,
    format: p.format,
    exitCode: p.exitCode,
    report: p.report,
    failureExcerpt: p.failureExcerpt,
    ...(p.lint ? { lint: p.lint } : {}),
    ...(p.failedAtBase ? { failedAtBase: p.failedAtBase } : {}),
  };
  return t.to(
    'reviewing',
    reviewStep(r.round),
    { tests },
    { log: `round ${r.round}: tests ${testVerdict({ ...tests, timedOut: p.timedOut })}`, extra: [{ kind: 'draft-pr', round: r.round }] },
  );
}

function findingKey(f: ReviewFindingDto): string {
  return `${f.file}:${f.line ?? ''}:${f.message.trim().toLowerCase()}`;
}

const NOTED_FINDINGS = 3;

const BRIEF_CHARS = 200;

/**
 * The coder's summary in one log line: its first line, cut at a word (a relay trial's was 1,083
 * characters of bullets on one line). The whole text is in the PR's "What changed".
 */
export function briefSummary(given: string): string {
  // The log line starts "round N:" itself; the summary's own round label would say it twice.
  const summary = withoutRoundLabel(given).trim();
  const first = summary.split('\n')[0]!.trim();
  if (first.length <= BRIEF_CHARS && first.length === summary.length) return first;
  const cut =
    first.length <= BRIEF_CHARS ? first : first.slice(0, first.lastIndexOf(' ', BRIEF_CHARS) > 100 ? first.lastIndexOf(' ', BRIEF_CHARS) : BRIEF_CHARS);
  return `${cut.replace(/[\s,;:.-]+$/, '')} (more in the PR)`;
}

/** Review rules not applied, for the FR's log line: a rule that matches nothing is seen where the FR is read, not only in the review report. */
export function skippedRulesNote(skipped: ReadonlyArray<{ id: string; reason: string }>): string {
  if (skipped.length === 0) return '';
  const shown = skipped.slice(0, 3).map((s) => `${s.id} (${s.reason})`);
  return `; review rule(s) not applied: ${shown.join(', ')}${skipped.length > 3 ? ` (+${skipped.length - 3} more)` : ''}`;
}

/** The first findings in brief, for the FR's log line (the PR body lists more): a reader of the FR file sees what the reviewer noted. */
export function findingNotes(findings: readonly ReviewFindingDto[]): string {
  if (findings.length === 0) return '';
  const brief = findings.slice(0, NOTED_FINDINGS).map((f) => {
    const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : 'whole change';
    const message = f.message.replace(/\s+/g, ' ').trim();
    return `[${f.severity}] ${where}: ${message.length > 120 ? `${message.slice(0, 117)}...` : message}`;
  });
  const more = findings.length > NOTED_FINDINGS ? ` (+${findings.length - NOTED_FINDINGS} more)` : '';
  return ` [${brief.join('; ')}${more}]`;
}

/**
 * Approve: the PR. Reject: blocked. Changes requested: another coding round while the tier has
 * rounds left and the review found something new; otherwise a draft PR for a person.
 */
export function onReviewed(t: Transition, e: EventOf<'reviewed'>): Decision {
  const r = t.record;
  if (r.state !== 'reviewing' || !matchesStep(r, e.env)) return stale(r, e, ['reviewing']);
  const p = e.env.payload;
  const blocking = p.findings.filter((f) => f.blocking).length;
  const reviewed: Partial<SagaRecord> = {
    reviews: [
      ...r.reviews,
      {
        round: p.round,
        verdict: p.verdict,
        confidence: p.confidence,
        summary: p.summary,
        findings: p.findings.length,
        blocking,
        ...(p.rules ? { rules: { applied: p.rules.applied, skipped: p.rules.skipped.map((x) => ({ id: x.id, reason: x.reason })) } } : {}),
      },
    ],
    lastReview: { round: r.round, verdict: p.verdict, findings: p.findings },
  };
  // An approval the policy overturned says so: a reader of the FR file saw only "request-changes" (relay trial cookie-es).
  const overridden = p.modelVerdict && p.modelVerdict !== p.verdict ? `; the model's verdict was ${p.modelVerdict}` : '';
  const line = `round ${r.round}: review ${p.verdict} (confidence ${p.confidence.toFixed(2)}, ${p.findings.length} finding(s), ${blocking} blocking${overridden})${findingNotes(p.findings)}${skippedRulesNote(p.rules?.skipped ?? [])}`;
  if (p.verdict === 'approve') return t.to('opening-pr', openPrStep(r.round), reviewed, { log: `${line}; opening the PR` });
  if (p.verdict === 'reject') {
    return t.to(
      'blocked',
      r.step,
      { ...reviewed, failure: { code: 'REVIEW_REJECTED', reason: p.summary } },
      { log: `${line}: ${p.summary}`, reason: 'review rejected the change' },
    );
  }
  const known = new Set(r.lastFindings.map(findingKey));
  const fresh = p.findings.filter((f) => !known.has(findingKey(f)));
  const limit = r.strategy?.reviewRounds ?? 1;
  if (r.round < limit && fresh.length > 0) {
    const round = r.round + 1;
    return t.to('fixing', codeStep(round), { ...reviewed, round, lastFindings: p.findings }, { log: `${line}; fixing in round ${round}` });
  }
  const draftReason = fresh.length === 0 ? `round ${r.round} brought no new finding` : `review rounds exhausted (${limit})`;
  return t.to(
    'opening-pr',
    openPrStep(r.round),
    { ...reviewed, lastFindings: p.findings, draftReason },
    { log: `${line}; ${draftReason}: opening a draft PR for a human` },
  );
}
