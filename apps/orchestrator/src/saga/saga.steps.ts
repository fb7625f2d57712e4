import { Messages, type AnyMessageDef, type PayloadOf } from '@agency/contracts';
import type { SagaRecord } from './saga.model.js';

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

export function testSummary(record: SagaRecord): string {
  const t = record.tests;
  if (!t) return 'not run';
  return `${t.passed ? 'passed' : 'failed'}: ${t.counts.passed} passed, ${t.counts.failed} failed, ${t.counts.skipped} skipped of ${t.counts.total} (round ${t.round})`;
}

/** The PR as the saga would have it now; `draft` until review passes. */
function openPrPayload(record: SagaRecord, traceUrl: string | undefined, draft: boolean): PayloadOf<typeof Messages.OpenPr> {
  const tier = need(record.strategy, 'strategy', record).tier;
  const inProgress = record.state !== 'opening-pr';
  return {
    fr: record.fr,
    repo: record.repo,
    workspace: need(record.workspace, 'workspace', record),
    draft,
    labels: ['agency', `tier:${tier}`, ...(inProgress ? ['agency:in-progress'] : draft ? ['agency:needs-human'] : [])],
    context: {
      planSummary: record.planSummary ?? '',
      testSummary: testSummary(record),
      reviewRounds: record.reviews.map((r) => `round ${r.round}: ${r.verdict} (confidence ${r.confidence.toFixed(2)}, ${r.findings} finding(s), ${r.blocking} blocking): ${r.summary}`),
      costUsd: record.costUsd,
      traceId: record.traceId,
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
  return command(Messages.OpenPr, openPrPayload(record, traceUrl, true));
}

/**
 * The command the saga's current step waits on, derived from saved state alone: re-driving a
 * step after a crash sends the same command again, and its Nats-Msg-Id makes the copy a no-op.
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
      return command(Messages.Test, { repo: record.repo, workspace: need(record.workspace, 'workspace', record), round: record.round, ...(record.strategy?.sandbox ? { sandbox: record.strategy.sandbox } : {}) });
    case 'reviewing': {
      const tests = need(record.tests, 'test result', record);
      return command(Messages.Review, {
        fr: record.fr,
        repo: record.repo,
        strategy: strategy(),
        round: record.round,
        plan: need(record.plan, 'plan', record),
        diff: need(record.diff, 'diff', record),
        workspace: need(record.workspace, 'workspace', record),
        tests: { passed: tests.passed, counts: tests.counts, report: tests.report },
      });
    }
    case 'opening-pr':
      return command(Messages.OpenPr, openPrPayload(record, traceUrl, record.draftReason !== undefined));
    case 'awaiting-merge':
      if (!record.mergeRequested || !record.pr) return undefined;
      return command(Messages.MergePr, { repo: record.repo, number: record.pr.number, method: 'merge' });
    default:
      return undefined;
  }
}
