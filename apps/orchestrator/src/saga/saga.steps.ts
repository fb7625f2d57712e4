import { Messages, withoutRoundLabel, type AnyMessageDef, type PayloadOf, type SagaState } from '@agency/contracts';
import { FR_FOLDERS, type FrFolder } from '@agency/vault';
import { totalCostUsd, type ReviewRound, type SagaRecord } from './saga.model.js';
import { testSummary } from './test-summary.js';

export interface StepCommand<D extends AnyMessageDef = AnyMessageDef> {
  def: D;
  payload: PayloadOf<D>;
}

function command<D extends AnyMessageDef>(def: D, payload: PayloadOf<D>): StepCommand {
  return { def, payload } as unknown as StepCommand;
}

function need<T>(value: T | undefined, what: string, record: SagaRecord): T {
  if (value === undefined) throw new Error(`saga ${record.sagaId} in ${record.state} has no ${what}`);
  return value;
}

/** Where an FR file lives for each saga state. */
export function folderFor(state: SagaState): FrFolder {
  switch (state) {
    case 'awaiting-merge':
      return 'inReview';
    case 'done':
      return 'done';
    case 'failed':
    case 'blocked':
    case 'cancelled':
      return 'blocked';
    default:
      return 'inProgress';
  }
}

/** The FR file's path once it is in the folder of `state`. */
export function frPathIn(record: SagaRecord, state: SagaState): string {
  return `${FR_FOLDERS[folderFor(state)]}/${record.frPath.split('/').pop()!}`;
}

const LISTED_FINDINGS = 20;
const FINDING_TEXT_CHARS = 400;

/** One line of at most `max` characters, cut between words (a trial's PR cut a finding mid-word). */
function cutAtWord(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const space = line.lastIndexOf(' ', max - 1);
  return `${line.slice(0, space > max / 2 ? space : max - 1).replace(/[\s,;:.-]+$/, '')}…`;
}

/**
 * One line per review round; the last round's findings follow its line, so notes the reviewer
 * did not block on still reach the human who merges.
 */
function reviewRounds(record: SagaRecord): string[] {
  return record.reviews.map((r) => {
    const head = `round ${r.round}: ${r.verdict} (confidence ${r.confidence.toFixed(2)}, ${r.findings} finding(s), ${r.blocking} blocking): ${r.summary}`;
    const findings = record.lastReview?.round === r.round ? record.lastReview.findings : [];
    const shown = findings.slice(0, LISTED_FINDINGS).map((f) => {
      const where = f.file ? `\`${f.file}${f.line ? `:${f.line}` : ''}\`` : '(whole change)';
      const suggestion = f.suggestion?.trim() ? ` Suggestion: ${cutAtWord(f.suggestion, FINDING_TEXT_CHARS)}` : '';
      return `- ${where} [${f.severity}${f.blocking ? ', blocking' : ''}] ${cutAtWord(f.message, FINDING_TEXT_CHARS)}${suggestion}`;
    });
    if (findings.length > LISTED_FINDINGS) shown.push(`- ... and ${findings.length - LISTED_FINDINGS} more (in the trace)`);
    return [head, ...shown, ...rulesLine(r)].join('\n');
  });
}

/** Which of the vault's review rules the round applied and which not: a rule that never matches shows here, where the person who merges reads. */
function rulesLine(r: ReviewRound): string[] {
  if (!r.rules || (r.rules.applied.length === 0 && r.rules.skipped.length === 0)) return [];
  const applied = r.rules.applied.length > 0 ? `applied ${r.rules.applied.join(', ')}` : 'none applied';
  const skipped = r.rules.skipped.map((s) => `${s.id} (${s.reason})`).join(', ');
  return [`- review rules: ${applied}${skipped ? `; not applied: ${skipped}` : ''}`];
}

/** The PR as the saga would have it now; `draft` until review passes. `final`: the open-pr step itself (not a round's draft). */
function openPrPayload(record: SagaRecord, traceUrl: string | undefined, draft: boolean, final: boolean): PayloadOf<typeof Messages.OpenPr> {
  const tier = need(record.strategy, 'strategy', record).tier;
  const draftReason = final && draft ? record.draftReason : undefined;
  return {
    // The FR's path as it will be when people read the PR: in review once the PR is the final one.
    fr: { ...record.fr, path: frPathIn(record, final ? 'awaiting-merge' : 'coding') },
    repo: record.repo,
    workspace: need(record.workspace, 'workspace', record),
    draft,
    labels: ['agency', `tier:${tier}`, ...(!final ? ['agency:in-progress'] : draft ? ['agency:needs-human'] : [])],
    context: {
      planSummary: record.planSummary ?? '',
      testSummary: record.tests
        ? testSummary(record.tests, record.repo.lintCommand)
        : record.stopped
          ? 'not run: the coder stopped before the tests'
          : 'not run',
      reviewRounds: reviewRounds(record),
      costUsd: totalCostUsd(record),
      traceId: record.traceId,
      ...(changeSummary(record) ? { changeSummary: changeSummary(record)!.slice(0, 5000) } : {}),
      ...(draftReason ? { draftReason: draftReason.slice(0, 5000) } : {}),
      ...(traceUrl ? { traceUrl } : {}),
    },
  };
}

/**
 * The draft PR pushed after each tested round, so people can watch the work as it happens;
 * the saga does not wait for it (its result only records the PR number).
 */
export function draftPrCommand(record: SagaRecord, traceUrl: string | undefined): StepCommand | undefined {
  if (!record.workspace || !record.strategy) return undefined;
  return command(Messages.OpenPr, openPrPayload(record, traceUrl, true, false));
}

/** The open PR's description again, as the open-pr step renders it (now with the cost counted since). */
export function refreshPrCommand(record: SagaRecord, traceUrl: string | undefined): StepCommand | undefined {
  if (!record.workspace || !record.strategy || !record.pr) return undefined;
  return command(Messages.OpenPr, openPrPayload(record, traceUrl, record.draftReason !== undefined, true));
}

function reviewPayload(record: SagaRecord): PayloadOf<typeof Messages.Review> {
  const tests = need(record.tests, 'test result', record);
  const earlier = record.lastReview && record.lastReview.round < record.round ? record.lastReview : undefined;
  return {
    fr: record.fr,
    repo: record.repo,
    strategy: need(record.strategy, 'strategy', record),
    round: record.round,
    plan: need(record.plan, 'plan', record),
    diff: need(record.diff, 'diff', record),
    workspace: need(record.workspace, 'workspace', record),
    tests: {
      passed: tests.passed,
      counts: tests.counts,
      format: tests.format ?? 'unparsed',
      report: tests.report,
      ...(tests.lint ? { lint: tests.lint } : {}),
      ...(tests.failedAtBase ? { failedAtBase: tests.failedAtBase } : {}),
    },
    ...(record.coderSummary ? { coderSummary: record.coderSummary.slice(0, 5000) } : {}),
    ...(earlier ? { earlier: { round: earlier.round, verdict: earlier.verdict, findings: earlier.findings.slice(0, 200) } } : {}),
  };
}

/**
 * The command the saga's current step waits on, derived from saved state alone: the
 * interpreter renders it from the record that decided it, so sending it again after a crash
 * sends the same command.
 */
export function stepCommand(record: SagaRecord, traceUrl: string | undefined): StepCommand | undefined {
  const strategy = () => need(record.strategy, 'strategy', record);
  switch (record.state) {
    case 'discovered':
      return command(Messages.ScoreFr, { fr: record.fr, ...(record.forcedTier ? { forcedTier: record.forcedTier } : {}) });
    case 'routed':
      return command(Messages.EnqueueJob, { repo: record.repo.name, priority: record.fr.priority, tier: strategy().tier });
    case 'planning':
      return command(Messages.Plan, { fr: record.fr, repo: record.repo, strategy: strategy() });
    case 'coding':
    case 'fixing':
      return command(Messages.Code, {
        fr: record.fr,
        repo: record.repo,
        strategy: strategy(),
        plan: need(record.plan, 'plan', record),
        round: record.round,
        ...(record.workspace ? { workspace: record.workspace } : {}),
        findings: record.state === 'fixing' ? record.lastFindings : [],
        ...(record.state === 'fixing' && record.tests && !record.tests.passed ? { testFailures: record.tests.failureExcerpt.slice(-20_000) } : {}),
      });
    case 'testing':
      return command(Messages.Test, {
        repo: record.repo,
        workspace: need(record.workspace, 'workspace', record),
        round: record.round,
        ...(record.strategy?.sandbox ? { sandbox: record.strategy.sandbox } : {}),
      });
    case 'reviewing':
      return command(Messages.Review, reviewPayload(record));
    case 'opening-pr':
      return command(Messages.OpenPr, openPrPayload(record, traceUrl, record.draftReason !== undefined, true));
    case 'awaiting-merge':
      if (!record.mergeRequested || !record.pr) return undefined;
      return command(Messages.MergePr, { repo: record.repo, number: record.pr.number, method: 'merge' });
    default:
      return undefined;
  }
}

/**
 * The PR's "What changed": every round of the run, the first (the main change) first; one round
 * reads as the coder wrote it. Only the last round's summary was shown before, so a PR fixed in a
 * second round read as if that small fix were the whole change.
 */
export function changeSummary(record: Pick<SagaRecord, 'roundSummaries' | 'coderSummary'>): string | undefined {
  const rounds = (record.roundSummaries ?? []).filter((s) => s.summary.trim());
  if (rounds.length === 0) return record.coderSummary?.trim() || undefined;
  if (rounds.length === 1) return rounds[0]!.summary.trim();
  // Each round is labelled here, so a summary's own "Round 2:" is dropped (it read "Round 2 (after review): Round 2: ...").
  return rounds.map((s) => `Round ${s.round}${s.round > 1 ? ' (after review)' : ''}: ${withoutRoundLabel(s.summary).trim()}`).join('\n\n');
}
