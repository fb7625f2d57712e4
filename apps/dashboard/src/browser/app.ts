// The dashboard's page: a browser module (compiled with src/browser/tsconfig.json: the DOM's own
// types) served as /assets/app/*.js. The API's shapes and the saga's rules come from the contracts'
// browser entry (@agency/contracts/browser, served as /assets/contracts/*.js): types, and plain
// functions with no Node or decorator code.
import {
  allowedActions,
  gateOf,
  SAGA_ACTIONS,
  sagaStage,
  SAGA_STAGES,
  type ApiErrorBody,
  type DashboardEvent,
  type DashboardFrDetail,
  type DashboardOverview,
  type DashboardSaga,
  type PullRequestView,
  type SagaAction,
  type SagaActionRequest,
  type SagaStage,
} from '@agency/contracts/browser';
import { formatCost, formatDuration, formatTime } from './format.js';
import { followRunningTranscripts, renderWork, type TranscriptData, type WorkData } from './workbench.js';

/** The board's columns, one per stage of a run. */
const COLUMN_TITLES: Record<SagaStage, string> = { running: 'Running', waiting: 'Needs a person', done: 'Done', stopped: 'Stopped' };

/** A state's badge: coloured by its stage (styles.css.ts), named by the state. */
function badge(state: DashboardSaga['state']): HTMLElement {
  return el('span', { class: `badge state-${state} stage-${sagaStage(state)}` }, state);
}

export interface UiContext {
  selected?: string;
  timer?: number;
  actionPending?: boolean;
  /** The answer to the last button press, kept across the re-renders live events cause. */
  result?: { frId: string; text: string; ok: boolean };
  /** Sections of the workbench a person opened (diff files, transcripts), kept open across re-renders. */
  open?: Record<string, boolean>;
  /** Transcripts loaded, by `<frId>:<round>:<attempt>`. */
  transcripts?: Record<string, TranscriptData>;
  /** What was drawn last: a refresh that brings the same data draws nothing (no flicker, no element replaced under the pointer). */
  drawn?: { overview?: string; detail?: string };
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> | null,
  ...children: (HTMLElement | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

export function linkOrText(href: string | undefined, label: string, fallback: string): HTMLElement | string {
  return href ? el('a', { href, target: '_blank', rel: 'noopener' }, label) : fallback;
}

/**
 * The FR's PR: a forge page in a new tab, or for the local forge (whose record is JSON) the PR as
 * the workbench below shows it, scrolled to in place.
 */
export function prLinkOrText(href: string | undefined, label: string, fallback: string): HTMLElement | string {
  if (!href?.startsWith('/forge/local/')) return linkOrText(href, label, fallback);
  const a = el('a', { href: '#work-pr', class: 'pr-link' }, label);
  a.addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('work-pr')?.scrollIntoView({ block: 'start' });
  });
  return a;
}

export function renderOverview(ctx: UiContext, data: DashboardOverview): void {
  const doc = document;
  const errors = Object.entries(data.errors).map(([svc, msg]) => el('p', { class: 'error' }, `${svc}: ${msg}`));
  doc.getElementById('errors')?.replaceChildren(...errors);
  const counts = Object.entries(data.byState).map(([state, n]) => el('span', { class: `count state-${state}` }, `${state} ${n}`));
  doc.getElementById('counts')?.replaceChildren(...(counts.length ? counts : ['no feature requests yet']));
  const columns = SAGA_STAGES.map((stage) => {
    const cards = data.sagas
      .filter((s) => sagaStage(s.state) === stage)
      .map((s) => {
        const card = el(
          'a',
          { class: `card${ctx.selected === s.frId ? ' selected' : ''}`, href: `#/fr/${s.frId}`, 'data-fr': s.frId },
          el('div', { class: 'card-head' }, el('strong', null, s.frId), ' ', badge(s.state)),
          el('div', { class: 'card-title' }, s.title),
          el(
            'div',
            { class: 'card-meta' },
            `${s.step}${s.attempt > 1 ? ` #${s.attempt}` : ''}${s.round ? ` · round ${s.round}` : ''}${s.tier ? ` · ${s.tier}` : ''} · ${formatCost(s.costUsd)}`,
          ),
          s.failure ? el('div', { class: 'card-failure' }, s.failure) : null,
        );
        return card;
      });
    return el('div', { class: `column column-${stage}` }, el('h3', null, `${COLUMN_TITLES[stage]} (${cards.length})`), ...cards);
  });
  // Files the intake refused or holds have no saga: shown as cards of their own, with the reason.
  const refused = data.refused.map((r) =>
    el(
      'div',
      { class: 'card refused', 'data-refused': r.frId ?? r.path },
      el(
        'div',
        { class: 'card-head' },
        el('strong', null, r.frId ?? r.path.split('/').pop() ?? r.path),
        ' ',
        el('span', { class: 'badge stage-stopped' }, r.code === 'DEPENDENCY_UNKNOWN' ? 'held' : 'refused'),
      ),
      el('div', { class: 'card-meta' }, r.now),
      el('div', { class: 'card-failure' }, `${r.code}: ${r.reason}`),
    ),
  );
  if (refused.length) columns.push(el('div', { class: 'column column-refused' }, el('h3', null, `Refused at intake (${refused.length})`), ...refused));
  doc.getElementById('board')?.replaceChildren(...columns);
  const rows = data.jobs.map((j) =>
    el(
      'tr',
      { 'data-job': j.jobId },
      el('td', null, j.frId),
      el('td', null, j.state),
      el('td', null, j.priority),
      el('td', null, j.tier),
      el('td', null, j.repo),
      el('td', null, formatTime(j.enqueuedAt)),
      el('td', null, j.dispatchedAt ? formatTime(j.dispatchedAt) : '-'),
    ),
  );
  const head = el('tr', null, ...['FR', 'state', 'priority', 'tier', 'repo', 'enqueued', 'dispatched'].map((h) => el('th', null, h)));
  doc
    .getElementById('queue')
    ?.replaceChildren(rows.length ? el('table', null, el('thead', null, head), el('tbody', null, ...rows)) : el('p', { class: 'muted' }, 'the queue is empty'));
  doc.getElementById('events')?.replaceChildren(...data.events.map((e) => renderEvent(e, true)));
}

export function renderEvent(e: DashboardEvent, withFr: boolean): HTMLElement {
  return el(
    'li',
    null,
    el('time', null, formatTime(e.occurredAt).slice(11)),
    ' ',
    withFr ? el('a', { href: `#/fr/${e.frId}` }, e.frId) : '',
    withFr ? ' ' : '',
    el('code', null, e.type),
    ` ${e.step}${e.attempt > 1 ? ` #${e.attempt}` : ''} `,
    e.summary,
  );
}

export function renderDetail(ctx: UiContext, d: DashboardFrDetail, work?: WorkData, pr?: PullRequestView): void {
  const doc = document;
  const panel = doc.getElementById('detail');
  if (!panel) return;
  const s = d.saga;
  const allowed = allowedActions(s.state);
  // Live events re-render the panel: keep what the person is typing, and where.
  const previous = doc.getElementById('action-note') as HTMLInputElement | null;
  const sameFr = panel.hidden === false && previous !== null && previous.dataset.fr === s.frId;
  const typing = sameFr && doc.activeElement === previous;
  const note = el('input', { id: 'action-note', type: 'text', placeholder: 'comment or reason (optional)', maxlength: '2000', 'data-fr': s.frId });
  if (sameFr) note.value = previous.value;
  const result = ctx.result?.frId === s.frId ? ctx.result : undefined;
  const buttons = SAGA_ACTIONS.map((a) => {
    const b = el(
      'button',
      { type: 'button', 'data-action': a, class: `action action-${a}` },
      a === 'approve' && gateOf(s.state) === 'pr' ? 'approve & merge' : a,
    );
    b.disabled = !allowed[a];
    b.addEventListener('click', () => void act(ctx, s.frId, a, note.value));
    return b;
  });
  const rows = d.timeline.rows.map((r) =>
    el(
      'tr',
      { class: r.current ? 'current' : '' },
      el('td', null, badge(r.state)),
      el('td', null, r.step || '-'),
      el('td', null, formatTime(r.startedAt)),
      el('td', { class: 'num' }, `${formatDuration(r.durationMs)}${r.current ? ' …' : ''}`),
      el('td', { class: 'num' }, r.modelCalls ? formatCost(r.costUsd) : '-'),
      el('td', { class: 'num' }, r.modelCalls ? `${r.modelCalls} · ${r.inputTokens}/${r.outputTokens}` : '-'),
      el('td', null, r.note ?? ''),
    ),
  );
  const head = el(
    'tr',
    null,
    ...['state', 'step', 'started', 'duration', 'cost', 'calls · tokens in/out', 'note'].map((h, i) => el('th', i >= 3 && i <= 5 ? { class: 'num' } : null, h)),
  );
  const parts = [
    el('div', { class: 'detail-head' }, el('h2', null, `${s.frId}: ${s.fr.title}`), el('a', { href: '#/', class: 'close' }, 'close')),
    el(
      'p',
      { class: 'detail-meta' },
      badge(s.state),
      ` step ${s.step}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''} · round ${s.round}${s.strategy ? ` · tier ${s.strategy.tier}` : ''}${s.score !== undefined ? ` · score ${s.score}` : ''} · total ${formatCost(s.costUsd)}`,
    ),
    s.failure ? el('p', { class: 'error' }, `${s.failure.code}: ${s.failure.reason}`) : null,
    el(
      'p',
      { class: 'links' },
      'PR: ',
      s.pr ? prLinkOrText(d.links.pr, `${s.pr.url}${s.pr.draft ? ' (draft)' : ''}`, s.pr.url) : 'none yet',
      ' · trace: ',
      linkOrText(d.links.trace, s.traceId, `${s.traceId} (agency trace ${s.frId})`),
    ),
    el(
      'div',
      { class: 'actions' },
      note,
      ...buttons,
      el('span', { id: 'action-result', role: 'status', class: result ? (result.ok ? 'ok' : 'error') : '' }, result?.text ?? ''),
    ),
    el('h3', null, 'Timeline'),
    el('table', { class: 'timeline' }, el('thead', null, head), el('tbody', null, ...rows)),
    d.timeline.otherCostUsd ? el('p', { class: 'muted' }, `other model cost: ${formatCost(d.timeline.otherCostUsd)}`) : null,
    work ? renderWork(ctx, s.frId, work, pr) : null,
    el('h3', null, 'Events'),
    el('ol', { class: 'events' }, ...d.events.slice(-50).map((e) => renderEvent(e, false))),
  ];
  panel.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  panel.hidden = false;
  // How many times the panel was drawn: a browser test waits for a redraw by it instead of a pause.
  panel.dataset.renders = String(Number(panel.dataset.renders ?? '0') + 1);
  if (typing) note.focus();
}

export async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as Partial<ApiErrorBody>;
  if (!res.ok) throw new Error(body.message ?? `${url}: HTTP ${res.status}`);
  return body;
}

export async function act(ctx: UiContext, frId: string, action: SagaAction, note: string): Promise<void> {
  const out = document.getElementById('action-result');
  if (ctx.actionPending) return;
  ctx.actionPending = true;
  if (out) out.textContent = `${action}…`;
  try {
    const body: SagaActionRequest = note ? (action === 'cancel' || action === 'reject' ? { reason: note, comment: note } : { comment: note }) : {};
    const res = await fetch(`/api/sagas/${encodeURIComponent(frId)}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json().catch(() => ({}))) as Partial<DashboardSaga & ApiErrorBody>;
    const text = res.ok ? `${action}: now ${answer.state ?? 'updated'}` : `${action} refused: ${answer.message ?? `HTTP ${res.status}`}`;
    ctx.result = { frId, text, ok: res.ok };
    if (res.ok) {
      const input = document.getElementById('action-note') as HTMLInputElement | null;
      if (input) input.value = '';
    }
    await refresh(ctx);
  } finally {
    ctx.actionPending = false;
  }
}

export async function refresh(ctx: UiContext): Promise<void> {
  const doc = document;
  const hash = /^#\/fr\/([A-Za-z0-9_-]+)$/.exec(location.hash);
  ctx.selected = hash ? hash[1] : undefined;
  try {
    ctx.drawn ??= {};
    const overview = (await getJson('/api/overview')) as DashboardOverview;
    const overviewKey = JSON.stringify([overview, ctx.selected]);
    if (overviewKey !== ctx.drawn.overview) renderOverview(ctx, overview);
    ctx.drawn.overview = overviewKey;
    const panel = doc.getElementById('detail');
    if (ctx.selected) {
      const [detail, work] = (await Promise.all([
        getJson(`/api/sagas/${ctx.selected}`),
        getJson(`/api/sagas/${ctx.selected}/work`).catch(() => undefined),
      ])) as [DashboardFrDetail, WorkData | undefined];
      // A PR on the local forge: its record (state, branch, description), shown in the workbench.
      const prLink = detail.links.pr;
      const pr = prLink?.startsWith('/forge/local/') ? ((await getJson(prLink).catch(() => undefined)) as PullRequestView | undefined) : undefined;
      const detailKey = JSON.stringify([detail, work, pr, ctx.result, ctx.open, Object.keys(ctx.transcripts ?? {}), panel?.hidden]);
      if (detailKey !== ctx.drawn.detail) renderDetail(ctx, detail, work, pr);
      ctx.drawn.detail = detailKey;
    } else if (panel) {
      panel.hidden = true;
      ctx.drawn.detail = undefined;
    }
  } catch (e) {
    doc.getElementById('errors')?.replaceChildren(el('p', { class: 'error' }, (e as Error).message));
  }
}

export function scheduleRefresh(ctx: UiContext, delayMs: number): void {
  if (ctx.timer !== undefined) window.clearTimeout(ctx.timer);
  ctx.timer = window.setTimeout(() => {
    ctx.timer = undefined;
    void refresh(ctx);
  }, delayMs);
}

export function main(): void {
  const ctx: UiContext = {};
  const live = document.getElementById('live');
  const setLive = (text: string, on: boolean) => {
    if (!live) return;
    live.textContent = text;
    live.className = on ? 'live on' : 'live off';
  };
  const source = new EventSource('/api/events');
  source.addEventListener('hello', () => setLive('live', true));
  source.addEventListener('agency', () => {
    scheduleRefresh(ctx, 250);
    followRunningTranscripts(ctx);
  });
  source.onerror = () => setLive('reconnecting…', false);
  window.addEventListener('hashchange', () => void refresh(ctx));
  // Events drive refreshes; the timer only catches what a dropped connection missed.
  window.setInterval(() => void refresh(ctx), 30_000);
  void refresh(ctx);
}
