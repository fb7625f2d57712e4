import { withoutRoundLabel, type CoderStopCode } from '@agency/contracts';

const SUBJECT_MAX = 72;

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? ''
  );
}

/** At most `max` characters, cut at a word where one is near (a subject cut mid-word reads badly). */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space >= max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** `FR-001: Added farewell() (round 1)`: one line, whatever the model's summary looks like. */
export function commitSubject(frId: string, summary: string, round: number): string {
  // The subject says the round itself: a summary's own "Round 2:" would say it twice.
  const line = firstLine(withoutRoundLabel(summary)) || 'changes';
  return `${frId}: ${clip(line, 100)} (round ${round})`;
}

const STOP_WORDS: Record<CoderStopCode, string> = {
  STEP_LIMIT: 'stopped at the step limit',
  REPEATED_ACTION: 'stopped repeating itself',
  TIMEOUT: 'stopped at its time limit',
  BUDGET_EXCEEDED: 'stopped at the budget',
};

export interface RoundCommitInput {
  frId: string;
  frTitle: string;
  round: number;
  summary: string;
  stopped?: { code: CoderStopCode; reason: string };
  sagaId: string;
  step: string;
}

/**
 * The one commit a round leaves on the PR branch, written for the human reviewer: round 1 is
 * named after the FR, a fix round after what it fixed; the body is the coder's own summary, then
 * why the work is unfinished when it is, then the agency's trailers.
 */
export function roundCommitMessage(input: RoundCommitInput): { subject: string; body: string } {
  // A fix round's subject ends "(round N)": the summary's own "Round 2:" would say it twice (relay trial rou3).
  const what = input.round === 1 ? input.frTitle.trim() : firstLine(withoutRoundLabel(input.summary)) || `address the review of round ${input.round - 1}`;
  const unfinished = input.stopped ? ` (unfinished: ${STOP_WORDS[input.stopped.code]})` : input.round > 1 ? ` (round ${input.round})` : '';
  const shortWhat = clip(what, Math.max(20, SUBJECT_MAX - input.frId.length - 2 - unfinished.length));
  const subject = `${input.frId}: ${shortWhat}${unfinished}`;
  // What the subject had to cut is said whole at the top of the body, unless the body's summary starts with it (a fix round's: rou3 re-run).
  const summary = (input.round > 1 ? withoutRoundLabel(input.summary) : input.summary).trim();
  const cut = shortWhat !== what && !summary.startsWith(what);
  const parts = [...(cut ? [what] : []), summary || '(the coder gave no summary)'];
  if (input.stopped) parts.push(`Unfinished: ${input.stopped.reason}. The commits are the work so far.`);
  parts.push(`Agency-Saga: ${input.sagaId}\nAgency-Step: ${input.step}`);
  return { subject, body: parts.join('\n\n') };
}
