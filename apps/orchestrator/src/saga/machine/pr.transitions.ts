import { jobIdOf } from '../saga.model.js';
import { codeStep, HUMAN_REVIEW_ROUNDS, ignore, mergeStep, QUEUE_STEP, type Decision, type EventOf, type Transition } from './decision.js';
import { matchesStep, stale } from './guards.js';

/** The PR: opened or updated, merged or closed by a person, reviewed by a person. */
export function onPrOpened(t: Transition, e: EventOf<'pr-opened'>): Decision {
  const r = t.record;
  const p = e.env.payload;
  if (e.env.step.startsWith('pr-r')) {
    // The draft PR a round pushed: remembered, not a transition.
    return t.update({ pr: { number: p.number, url: p.url, draft: p.draft } });
  }
  if (r.state !== 'opening-pr' || !matchesStep(r, e.env)) return stale(r, e, ['opening-pr']);
  const last = r.reviews.at(-1);
  const autoMerge =
    t.s.autoMergeAllowed &&
    r.strategy?.autoMerge === true &&
    !p.draft &&
    r.tests?.passed === true &&
    !r.stopped &&
    last?.verdict === 'approve' &&
    last.confidence >= t.s.autoMergeMinConfidence;
  return t.to(
    'awaiting-merge',
    mergeStep(r.round),
    { pr: { number: p.number, url: p.url, draft: p.draft }, mergeRequested: autoMerge, prCostStale: false },
    {
      log: `PR ${p.created ? 'opened' : 'updated'}: ${p.url}${p.draft ? ' (draft)' : ''}${autoMerge ? '; auto-merging' : '; waiting for a human to merge'}`,
      // A call's cost counted while the PR was being opened: its description shows the total again.
      ...(r.prCostStale && !autoMerge ? { extra: [{ kind: 'refresh-pr' as const, round: r.round }] } : {}),
    },
  );
}

/** Whether the event is about this run's PR (a person acts on it whatever the saga is doing). */
function ourPr(t: Transition, number: number): boolean {
  return t.record.pr?.number === number;
}

/** Merged by a person (or by the saga's own merge): done, even while the agency was still working on a review round. */
export function onPrMerged(t: Transition, e: EventOf<'pr-merged'>): Decision {
  const r = t.record;
  const p = e.env.payload;
  if (r.state !== 'awaiting-merge' && !ourPr(t, p.number)) return stale(r, e, ['awaiting-merge']);
  return t.to('done', r.step, { mergeRequested: false }, { log: `PR merged (${p.mergeSha.slice(0, 12)}): ${p.url}` });
}

export function onPrClosed(t: Transition, e: EventOf<'pr-closed'>): Decision {
  const r = t.record;
  const p = e.env.payload;
  if (!ourPr(t, p.number)) return ignore(`PR #${p.number} closed; this run's PR is ${r.pr ? `#${r.pr.number}` : 'not open yet'}`);
  const reason = `PR closed without merging: ${p.url}`;
  return t.to('cancelled', r.step, { failure: { code: 'PR_CLOSED', reason } }, { log: reason, reason: 'PR closed' });
}

/**
 * A person's "changes requested" on the PR: a new lap (a job slot of its own) that goes back to
 * the coder with the review as a blocking finding, then tests and review, then updates the same
 * PR, up to HUMAN_REVIEW_ROUNDS times. Approvals and comments are only recorded.
 */
export function onPrReviewed(t: Transition, e: EventOf<'pr-reviewed'>): Decision {
  const r = t.record;
  const p = e.env.payload;
  if (r.state !== 'awaiting-merge') return ignore(`a PR review by ${p.author} while ${r.state} is only logged`, false);
  if (p.state !== 'changes_requested') return t.update({});
  const humanRounds = (r.humanRounds ?? 0) + 1;
  if (humanRounds > HUMAN_REVIEW_ROUNDS)
    return ignore(`${p.author} requested changes again; after ${HUMAN_REVIEW_ROUNDS} human rounds the agency leaves it to people`, false);
  const round = r.round + 1;
  const finding = { file: '', severity: 'major' as const, message: `${p.author} requested changes on the PR: ${p.body}`.slice(0, 5000), blocking: true };
  const lap = r.lap + 1;
  const step = codeStep(round);
  return t.to(
    'routed',
    QUEUE_STEP,
    {
      lap,
      jobId: jobIdOf(r.sagaId, lap),
      released: false,
      resume: { state: 'fixing', step, attempt: t.freshAttempt(step), round },
      humanRounds,
      lastFindings: [finding],
      lastReview: { round: r.round, verdict: 'request-changes', findings: [finding] },
      mergeRequested: false,
      draftReason: undefined,
      stopped: undefined,
    },
    {
      attempt: t.freshAttempt(QUEUE_STEP),
      resumed: true,
      log: `${p.author} requested changes on the PR; round ${round} waits for a job slot`,
      reason: 'changes requested on the PR',
    },
  );
}
