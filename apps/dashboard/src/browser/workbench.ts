// The workbench under an FR's timeline: the plan whole, each round's diff file by file, its tests,
// its review and the coder's transcript.
import type { FrWork, PullRequestView, TranscriptView } from '@agency/contracts/browser';
import { el, getJson, refresh, type UiContext } from './app.js';
import { exploredText, formatDuration } from './format.js';

/** What GET /api/sagas/:frId/work and /transcript/:round answer (libs/contracts). */
export type WorkData = FrWork;
export type TranscriptData = TranscriptView;

/** A <details> section whose open state survives re-renders (the page is redrawn on every live event). */
export function foldable(
  ctx: UiContext,
  id: string,
  summary: (HTMLElement | string)[],
  body: () => (HTMLElement | string | null)[],
  onOpen?: () => void,
): HTMLElement {
  ctx.open ??= {};
  const d = el('details', { 'data-fold': id }, el('summary', null, ...summary));
  if (ctx.open[id]) {
    d.setAttribute('open', '');
    d.append(...body().filter((x): x is HTMLElement | string => x !== null));
  }
  d.addEventListener('toggle', () => {
    const now = d.open;
    if (now === Boolean(ctx.open?.[id])) return;
    ctx.open![id] = now;
    if (now && onOpen) onOpen();
    void refresh(ctx);
  });
  return d;
}

/** One file of a round's diff, its lines coloured by kind. */
export function renderDiffFile(
  ctx: UiContext,
  key: string,
  f: { path: string; from?: string; status: string; added: number; removed: number; patch: string },
): HTMLElement {
  const lines = () => [
    el(
      'pre',
      { class: 'diff' },
      ...f.patch
        .split('\n')
        .map((l) => el('span', { class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : 'ctx' }, `${l}\n`)),
    ),
  ];
  return foldable(
    ctx,
    key,
    [
      el('code', null, f.from ? `${f.from} → ${f.path}` : f.path),
      ' ',
      el('span', { class: `file-status ${f.status}` }, f.status),
      ' ',
      el('span', { class: 'add' }, `+${f.added}`),
      ' ',
      el('span', { class: 'del' }, `-${f.removed}`),
    ],
    lines,
  );
}

/** The coder's transcript: each model turn with the tool calls it asked for, each tool call with its result. */
export function renderTranscript(t: TranscriptData): HTMLElement {
  const items = t.entries.map((e) => {
    if (e.kind === 'prompt') return el('li', { class: 'turn prompt muted' }, `prompt: ${e.messages.length} message(s), tools: ${e.tools.join(', ') || 'none'}`);
    if (e.kind === 'model') {
      const calls = (e.toolCalls ?? []).map((c) => el('li', null, el('code', null, c.name), ' ', el('span', { class: 'muted' }, c.arguments.slice(0, 300))));
      return el(
        'li',
        { class: 'turn model' },
        el('strong', null, `model ${e.model ?? ''}`),
        ` (step ${e.step ?? '-'}, ${formatDuration(e.durationMs ?? 0)})`,
        e.content ? el('pre', null, e.content.slice(0, 4000)) : null,
        calls.length ? el('ul', null, ...calls) : null,
      );
    }
    if (e.kind === 'tool') {
      return el(
        'li',
        { class: `turn tool ${e.ok ? 'ok' : 'failed'}` },
        el('code', null, e.name ?? 'tool'),
        ` ${e.ok ? 'ok' : 'failed'} in ${formatDuration(e.durationMs ?? 0)}`,
        el('pre', { class: 'args' }, (e.arguments ?? '').slice(0, 2000)),
        el('pre', { class: 'result' }, (e.result ?? '').slice(0, 6000)),
      );
    }
    return el('li', { class: 'turn note' }, el('em', null, e.text ?? ''));
  });
  const totals = t.totals
    ? `${t.totals.modelCalls} model calls, ${t.totals.toolCalls} tool calls, ${t.totals.inputTokens}/${t.totals.outputTokens} tokens in/out`
    : '';
  const outcome = t.running ? 'still coding: live, as it is stored' : t.outcome ? (t.outcome.ok ? 'finished' : `failed: ${t.outcome.error ?? ''}`) : '';
  return el(
    'div',
    { class: 'transcript' },
    el('p', { class: 'muted' }, `attempt ${t.attempt} · ${totals}${outcome ? ` · ${outcome}` : ''}`),
    el('ol', { class: 'turns' }, ...items),
  );
}

/** The workbench under the timeline: the plan whole, then each round's diff file by file, tests, review and transcript. */
export function renderWork(ctx: UiContext, frId: string, w: WorkData, pr?: PullRequestView): HTMLElement {
  const parts: (HTMLElement | null)[] = [];
  if (pr) {
    const state = pr.state === 'merged' ? `merged${pr.mergeSha ? ` as ${pr.mergeSha.slice(0, 12)}` : ''}` : `${pr.state}${pr.draft ? ' (draft)' : ''}`;
    parts.push(
      el('h3', { id: 'work-pr' }, `Pull request #${pr.number}: ${state}`),
      el('p', { class: 'pr-meta' }, el('code', null, pr.branch), ' → ', el('code', null, pr.base), ` · head ${pr.headSha.slice(0, 12)} · `, pr.title),
      foldable(ctx, `${frId}:pr-body`, ['description'], () => [el('pre', { class: 'output' }, pr.body)]),
    );
  }
  parts.push(el('h3', null, 'Plan'));
  if (w.plan) {
    parts.push(el('p', { class: 'plan-summary' }, w.plan.summary ?? ''));
    const steps = (w.plan.steps ?? []).map((st) =>
      el(
        'li',
        null,
        el('strong', null, st.title ?? ''),
        st.files?.length ? el('span', { class: 'muted' }, ` (${st.files.join(', ')})`) : null,
        st.detail ? el('div', null, st.detail) : null,
      ),
    );
    if (steps.length) parts.push(el('ol', { class: 'plan-steps' }, ...steps));
    if (w.plan.risks?.length) parts.push(el('p', { class: 'muted' }, `risks: ${w.plan.risks.join('; ')}`));
    const explored = exploredText(w.plan.meta);
    if (explored) parts.push(el('p', { class: 'muted plan-explored' }, explored));
  } else parts.push(el('p', { class: 'muted' }, 'no plan yet'));
  for (const r of [...w.rounds].reverse()) {
    const round = el('section', { class: 'round', 'data-round': String(r.round) }, el('h3', null, `Round ${r.round}`));
    // DOM append() would write "null" for an absent part.
    const add = (...xs: (HTMLElement | string | null)[]): void => round.append(...xs.filter((x): x is HTMLElement | string => x !== null));
    if (r.diff) {
      add(el('h4', null, `Diff: ${r.diff.files.length} file(s)`), ...r.diff.files.map((f) => renderDiffFile(ctx, `${frId}:r${r.round}:${f.path}`, f)));
    } else add(el('p', { class: 'muted' }, 'no diff yet'));
    if (r.tests) {
      const t = r.tests;
      const counts = t.counts ? ` · ${t.counts.passed}/${t.counts.total} passed${t.counts.failed ? `, ${t.counts.failed} failed` : ''}` : '';
      add(
        el(
          'h4',
          null,
          'Tests: ',
          el('span', { class: t.passed ? 'ok' : 'error' }, t.passed ? 'passed' : 'failed'),
          `${counts}${t.durationMs !== undefined ? ` · ${formatDuration(t.durationMs)}` : ''}`,
        ),
        t.command ? el('p', null, el('code', null, t.command), ` exit ${t.exitCode ?? '-'}${t.timedOut ? ' (timed out)' : ''}`) : null,
        t.failing.length ? el('p', { class: 'error' }, `failing: ${t.failing.join('; ')}`) : null,
        t.outputTail ? foldable(ctx, `${frId}:r${r.round}:tests`, ['test output'], () => [el('pre', { class: 'output' }, t.outputTail ?? '')]) : null,
      );
    }
    if (r.review) {
      const v = r.review;
      const findings = v.findings.map((f) =>
        el(
          'li',
          { class: `finding sev-${f.severity}` },
          el('span', { class: 'badge' }, f.severity),
          ' ',
          el('code', null, `${f.file}${f.line ? `:${f.line}` : ''}`),
          ` ${f.message}`,
          f.suggestion ? el('div', { class: 'muted' }, `suggestion: ${f.suggestion}`) : null,
        ),
      );
      add(
        el('h4', null, `Review: ${v.verdict ?? '-'}${v.confidence !== undefined ? ` (${Math.round(v.confidence * 100)} %)` : ''}`),
        v.summary ? el('p', null, v.summary) : null,
        findings.length ? el('ul', { class: 'findings' }, ...findings) : el('p', { class: 'muted' }, 'no findings'),
      );
    }
    const attempt = r.transcriptAttempt;
    const key = `${frId}:${r.round}:${attempt ?? 0}`;
    if (attempt !== undefined) {
      add(
        foldable(
          ctx,
          `${frId}:r${r.round}:transcript`,
          [`coder's transcript (attempt ${attempt})`],
          () => [ctx.transcripts?.[key] ? renderTranscript(ctx.transcripts[key]) : el('p', { class: 'muted' }, 'loading…')],
          () => void loadTranscript(ctx, frId, r.round, key),
        ),
      );
    } else add(el('p', { class: 'muted' }, "the coder's transcript is stored when the round's coding ends"));
    parts.push(round);
  }
  if (w.problems.length) parts.push(el('p', { class: 'error' }, `could not read: ${w.problems.join('; ')}`));
  return el('div', { id: 'work' }, ...parts.filter((p): p is HTMLElement => p !== null));
}

/** Loads a round's transcript once, or again when `again` (it was still running: live events bring more). */
export async function loadTranscript(ctx: UiContext, frId: string, round: number, key: string, again = false): Promise<void> {
  ctx.transcripts ??= {};
  if (ctx.transcripts[key] && !again) return;
  try {
    ctx.transcripts[key] = (await getJson(`/api/sagas/${encodeURIComponent(frId)}/transcript/${round}`)) as TranscriptData;
  } catch (e) {
    ctx.transcripts[key] = { round, attempt: 0, entries: [{ kind: 'note', at: '', step: 0, text: (e as Error).message }] };
  }
  await refresh(ctx);
}

/** On a live event: the open transcripts of rounds still coding are read again (they grow as the coder works). */
export function followRunningTranscripts(ctx: UiContext): void {
  for (const [key, t] of Object.entries(ctx.transcripts ?? {})) {
    const [frId, round] = key.split(':');
    if (t.running && frId && ctx.open?.[`${frId}:r${round}:transcript`]) void loadTranscript(ctx, frId, Number(round), key, true);
  }
}
