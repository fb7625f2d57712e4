import type { FrSnapshotDto, OpenPrCommand } from '@agency/contracts';
import { listItem as item } from '@agency/vault';
import type { PrOrigin } from '../forge/forge.js';

/** GitHub refuses bodies over 65,536 characters; the local forge keeps the same limit. */
export const MAX_BODY_CHARS = 60_000;

export function prTitle(fr: Pick<FrSnapshotDto, 'id' | 'title'>): string {
  return `${fr.id}: ${fr.title}`;
}

export function formatUsd(amount: number): string {
  // Small runs cost fractions of a cent; two decimals would show them as free.
  return `$${amount.toFixed(amount < 1 ? 4 : 2)}`;
}

function section(title: string, content: string): string {
  return `### ${title}\n\n${content.trim()}\n`;
}

function traceLine(traceId: string, traceUrl?: string): string {
  return traceUrl ? `[Open the trace](${traceUrl}) (trace id \`${traceId}\`)` : `Trace id \`${traceId}\` (no trace viewer configured)`;
}

/**
 * The PR description: what was asked (the FR, where its file is, its acceptance criteria), what
 * was done (the coder's summary, plan, tests, every review round), why it is a draft if it is,
 * what the FR cost over all its runs, and where the whole run can be inspected.
 */
export function renderPrBody(cmd: Pick<OpenPrCommand, 'fr' | 'context' | 'draft'>, origin?: PrOrigin): string {
  const { fr, context } = cmd;
  const criteria = fr.acceptanceCriteria.length ? fr.acceptanceCriteria.map((c) => item('- [ ] ', c)).join('\n') : '_The FR lists no acceptance criteria._';
  const reviews = context.reviewRounds.length ? context.reviewRounds.map((r, i) => item(`${i + 1}. `, r)).join('\n') : '_No review round recorded._';
  const draft = cmd.draft ? ` **Draft: a human has to look at this before it can merge${context.draftReason ? ` (${context.draftReason.trim()})` : ''}.**` : '';
  const parts = [
    `## ${prTitle(fr)}\n`,
    `Opened by Agency for ${fr.id} (\`${fr.path}\`; priority ${fr.priority}, base \`${fr.base}\`).${draft}\n`,
    ...(context.changeSummary?.trim() ? [section('What changed', context.changeSummary)] : []),
    section('Acceptance criteria', criteria),
    section('Plan', context.planSummary || '_No plan summary._'),
    section('Tests', context.testSummary || '_No test summary._'),
    section('Review', reviews),
    // A model call's usage can reach the saga just after its step's result: the saga then renders this description again.
    section('Cost', `${formatUsd(context.costUsd)} (model usage for ${fr.id}, all its runs; updated when a call's cost arrives after the PR opened).`),
    section('Trace', traceLine(context.traceId, context.traceUrl)),
  ];
  const marker = `\n${agencyMarker(fr.id, fr.contentHash, origin)}\n`;
  const body = parts.join('\n');
  if (body.length + marker.length <= MAX_BODY_CHARS) return body + marker;
  const note = `\n\n_(description cut at ${MAX_BODY_CHARS} characters; the full plan, test and review reports are in the trace)_\n`;
  // The marker stays whole at the end: webhooks find the FR run from it.
  return body.slice(0, MAX_BODY_CHARS - note.length - marker.length) + note + marker;
}

/** The hidden line naming the FR run; ids are [A-Za-z0-9_.-] (the envelope's alphabet) so the comment cannot be broken out of. */
export function agencyMarker(frId: string, contentHash: string, origin?: PrOrigin): string {
  const safe = (v: string) => v.replace(/[^A-Za-z0-9_.-]/g, '_');
  const ids = origin ? ` saga=${safe(origin.sagaId)}${origin.jobId ? ` job=${safe(origin.jobId)}` : ''}` : '';
  return `<!-- agency: fr=${safe(frId)}${ids} content=${contentHash.slice(0, 12)} -->`;
}

const MARKER = /<!-- agency: fr=([A-Za-z0-9_.-]+)(?: saga=([A-Za-z0-9_.-]+))?(?: job=([A-Za-z0-9_.-]+))? content=[a-f0-9]* -->/;

/** The FR run a PR body names, when it has the marker (the last one wins: a human may quote an old body). */
export function parseAgencyMarker(body: string | null | undefined): (Partial<PrOrigin> & { frId: string }) | undefined {
  const all = [...(body ?? '').matchAll(new RegExp(MARKER, 'g'))];
  const m = all.at(-1);
  if (!m) return undefined;
  return { frId: m[1]!, ...(m[2] ? { sagaId: m[2] } : {}), ...(m[3] ? { jobId: m[3] } : {}) };
}
