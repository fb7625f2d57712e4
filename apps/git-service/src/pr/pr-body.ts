import type { FrSnapshotDto, OpenPrCommand } from '@agency/contracts';

/** GitHub refuses bodies over 65,536 characters; the local forge keeps the same limit. */
export const MAX_BODY_CHARS = 60_000;

export function prTitle(fr: Pick<FrSnapshotDto, 'id' | 'title'>): string {
  return `${fr.id}: ${fr.title}`;
}

export function formatUsd(amount: number): string {
  // Small runs cost fractions of a cent; two decimals would show them as free.
  return `$${amount.toFixed(amount < 1 ? 4 : 2)}`;
}

/** A list item's continuation lines indented, so a multi-line criterion stays one item. */
function item(marker: string, text: string): string {
  const [first = '', ...rest] = text.trim().split('\n');
  return [`${marker}${first}`, ...rest.map((l) => `${' '.repeat(marker.length)}${l}`)].join('\n');
}

function section(title: string, content: string): string {
  return `### ${title}\n\n${content.trim()}\n`;
}

function traceLine(traceId: string, traceUrl?: string): string {
  return traceUrl ? `[Open the trace](${traceUrl}) (trace id \`${traceId}\`)` : `Trace id \`${traceId}\` (no trace viewer configured)`;
}

/**
 * The PR description: what was asked (FR and its acceptance criteria), what was done (plan,
 * tests, every review round), what it cost, and where the whole run can be inspected.
 */
export function renderPrBody(cmd: Pick<OpenPrCommand, 'fr' | 'context' | 'draft'>): string {
  const { fr, context } = cmd;
  const criteria = fr.acceptanceCriteria.length ? fr.acceptanceCriteria.map((c) => item('- [ ] ', c)).join('\n') : '_The FR lists no acceptance criteria._';
  const reviews = context.reviewRounds.length ? context.reviewRounds.map((r, i) => item(`${i + 1}. `, r)).join('\n') : '_No review round recorded._';
  const parts = [
    `## ${prTitle(fr)}\n`,
    `Opened by Agency for \`${fr.path}\` (priority ${fr.priority}, base \`${fr.base}\`).${cmd.draft ? ' **Draft: a human has to look at this before it can merge.**' : ''}\n`,
    section('Acceptance criteria', criteria),
    section('Plan', context.planSummary || '_No plan summary._'),
    section('Tests', context.testSummary || '_No test summary._'),
    section('Review', reviews),
    section('Cost', `${formatUsd(context.costUsd)} so far (model usage for ${fr.id}).`),
    section('Trace', traceLine(context.traceId, context.traceUrl)),
    `<!-- agency: fr=${fr.id} content=${fr.contentHash.slice(0, 12)} -->\n`,
  ];
  const body = parts.join('\n');
  if (body.length <= MAX_BODY_CHARS) return body;
  const note = `\n\n_(description cut at ${MAX_BODY_CHARS} characters; the full plan, test and review reports are in the trace)_\n`;
  return body.slice(0, MAX_BODY_CHARS - note.length) + note;
}
