// Browser code. These functions are serialized with Function.prototype.toString and served as
// /assets/dashboard.js (see client-script.ts), so each may use only its parameters, browser
// globals and the other functions of CLIENT_FUNCTIONS: no imports, no module-level values.
// The browser's DOM types are declared here in the small shape used, because the workspace
// compiles against Node's libraries only (no "dom" lib).

export interface UiElement {
  textContent: string | null;
  className: string;
  hidden: boolean;
  disabled: boolean;
  value: string;
  title: string;
  dataset: Record<string, string | undefined>;
  append(...nodes: (UiElement | string)[]): void;
  replaceChildren(...nodes: (UiElement | string)[]): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
  focus(): void;
}

interface UiEventSource {
  addEventListener(type: string, listener: (event: { data: string }) => void): void;
  onerror: (() => void) | null;
}

interface UiWindow {
  document: { getElementById(id: string): UiElement | null; createElement(tag: string): UiElement; title: string; activeElement: unknown };
  location: { hash: string };
  addEventListener(type: string, listener: () => void): void;
  EventSource: new (url: string) => UiEventSource;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
  setInterval(fn: () => void, ms: number): number;
  fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ ok: boolean; status: number; json(): Promise<unknown>; text(): Promise<string> }>;
}

interface SagaItem {
  frId: string;
  title: string;
  state: string;
  step: string;
  attempt: number;
  round: number;
  tier?: string;
  costUsd: number;
  traceId: string;
  failure?: string;
  updatedAt: string;
  links: { pr?: string; trace?: string };
}

interface EventItem {
  seq: number;
  type: string;
  frId: string;
  step: string;
  attempt: number;
  occurredAt: string;
  summary: string;
}

interface OverviewData {
  sagas: SagaItem[];
  jobs: { jobId: string; frId: string; repo: string; priority: string; tier: string; state: string; enqueuedAt: string; dispatchedAt?: string }[];
  byState: Record<string, number>;
  events: EventItem[];
  live: boolean;
  errors: Record<string, string>;
}

interface TimelineRowItem {
  state: string;
  step: string;
  startedAt: string;
  durationMs: number;
  current: boolean;
  costUsd: number;
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
  note?: string;
}

interface DetailData {
  saga: { frId: string; title?: string; fr: { title: string }; state: string; step: string; attempt: number; round: number; traceId: string; jobId?: string; score?: number; strategy?: { tier: string }; costUsd: number; failure?: { code: string; reason: string }; pr?: { url: string; draft: boolean } };
  links: { pr?: string; trace?: string };
  timeline: { rows: TimelineRowItem[]; otherCostUsd: number };
  events: EventItem[];
}

export interface UiContext {
  selected?: string;
  timer?: number;
  actionPending?: boolean;
  /** The answer to the last button press, kept across the re-renders live events cause. */
  result?: { frId: string; text: string; ok: boolean };
}

export function ui(): UiWindow {
  return globalThis as unknown as UiWindow;
}

export function el(tag: string, attrs: Record<string, string> | null, ...children: (UiElement | string | null | undefined | false)[]): UiElement {
  const node = ui().document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatCost(usd: number): string {
  if (!usd) return '$0';
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 19);
}

/** The board's columns: what the agency is doing, what waits on a person, what is finished. */
export function stateGroup(state: string): 'running' | 'waiting' | 'done' | 'stopped' {
  if (state === 'awaiting-plan-approval' || state === 'awaiting-merge') return 'waiting';
  if (state === 'done') return 'done';
  if (state === 'failed' || state === 'blocked' || state === 'cancelled') return 'stopped';
  return 'running';
}

/** Which buttons a state allows (the orchestrator decides; a refused action comes back as a message). */
export function actionsFor(state: string): Record<'approve' | 'reject' | 'cancel' | 'retry', boolean> {
  const gate = state === 'awaiting-plan-approval' || state === 'awaiting-merge';
  const stopped = state === 'failed' || state === 'blocked' || state === 'cancelled';
  return { approve: gate, reject: gate, cancel: state !== 'done' && !stopped, retry: state === 'failed' || state === 'blocked' };
}

export function linkOrText(href: string | undefined, label: string, fallback: string): UiElement | string {
  return href ? el('a', { href, target: '_blank', rel: 'noopener' }, label) : fallback;
}

export function renderOverview(ctx: UiContext, data: OverviewData): void {
  const doc = ui().document;
  const errors = Object.entries(data.errors).map(([svc, msg]) => el('p', { class: 'error' }, `${svc}: ${msg}`));
  doc.getElementById('errors')?.replaceChildren(...errors);
  const counts = Object.entries(data.byState).map(([state, n]) => el('span', { class: `count state-${state}` }, `${state} ${n}`));
  doc.getElementById('counts')?.replaceChildren(...(counts.length ? counts : ['no feature requests yet']));
  const titles: Record<string, string> = { running: 'Running', waiting: 'Needs a person', done: 'Done', stopped: 'Stopped' };
  const columns = Object.keys(titles).map((group) => {
    const cards = data.sagas
      .filter((s) => stateGroup(s.state) === group)
      .map((s) => {
        const card = el(
          'a',
          { class: `card${ctx.selected === s.frId ? ' selected' : ''}`, href: `#/fr/${s.frId}`, 'data-fr': s.frId },
          el('div', { class: 'card-head' }, el('strong', null, s.frId), ' ', el('span', { class: `badge state-${s.state}` }, s.state)),
          el('div', { class: 'card-title' }, s.title),
          el('div', { class: 'card-meta' }, `${s.step}${s.attempt > 1 ? ` #${s.attempt}` : ''}${s.round ? ` · round ${s.round}` : ''}${s.tier ? ` · ${s.tier}` : ''} · ${formatCost(s.costUsd)}`),
          s.failure ? el('div', { class: 'card-failure' }, s.failure) : null,
        );
        return card;
      });
    return el('div', { class: `column column-${group}` }, el('h3', null, `${titles[group]} (${cards.length})`), ...cards);
  });
  doc.getElementById('board')?.replaceChildren(...columns);
  const rows = data.jobs.map((j) =>
    el('tr', { 'data-job': j.jobId }, el('td', null, j.frId), el('td', null, j.state), el('td', null, j.priority), el('td', null, j.tier), el('td', null, j.repo), el('td', null, formatTime(j.enqueuedAt)), el('td', null, j.dispatchedAt ? formatTime(j.dispatchedAt) : '-')),
  );
  const head = el('tr', null, ...['FR', 'state', 'priority', 'tier', 'repo', 'enqueued', 'dispatched'].map((h) => el('th', null, h)));
  doc.getElementById('queue')?.replaceChildren(rows.length ? el('table', null, el('thead', null, head), el('tbody', null, ...rows)) : el('p', { class: 'muted' }, 'the queue is empty'));
  doc.getElementById('events')?.replaceChildren(...data.events.map((e) => renderEvent(e, true)));
}

export function renderEvent(e: EventItem, withFr: boolean): UiElement {
  return el('li', null, el('time', null, formatTime(e.occurredAt).slice(11)), ' ', withFr ? el('a', { href: `#/fr/${e.frId}` }, e.frId) : '', withFr ? ' ' : '', el('code', null, e.type), ` ${e.step}${e.attempt > 1 ? ` #${e.attempt}` : ''} `, e.summary);
}

export function renderDetail(ctx: UiContext, d: DetailData): void {
  const doc = ui().document;
  const panel = doc.getElementById('detail');
  if (!panel) return;
  const s = d.saga;
  const allowed = actionsFor(s.state);
  // Live events re-render the panel: keep what the person is typing, and where.
  const previous = doc.getElementById('action-note');
  const sameFr = panel.hidden === false && previous !== null && previous.dataset.fr === s.frId;
  const typing = sameFr && doc.activeElement === previous;
  const note = el('input', { id: 'action-note', type: 'text', placeholder: 'comment or reason (optional)', maxlength: '2000', 'data-fr': s.frId });
  if (sameFr) note.value = previous.value;
  const result = ctx.result?.frId === s.frId ? ctx.result : undefined;
  const buttons = (['approve', 'reject', 'cancel', 'retry'] as const).map((a) => {
    const b = el('button', { type: 'button', 'data-action': a, class: `action action-${a}` }, a);
    b.disabled = !allowed[a];
    b.addEventListener('click', () => void act(ctx, s.frId, a, note.value));
    return b;
  });
  const rows = d.timeline.rows.map((r) =>
    el(
      'tr',
      { class: r.current ? 'current' : '' },
      el('td', null, el('span', { class: `badge state-${r.state}` }, r.state)),
      el('td', null, r.step || '-'),
      el('td', null, formatTime(r.startedAt)),
      el('td', { class: 'num' }, `${formatDuration(r.durationMs)}${r.current ? ' …' : ''}`),
      el('td', { class: 'num' }, r.modelCalls ? formatCost(r.costUsd) : '-'),
      el('td', { class: 'num' }, r.modelCalls ? `${r.modelCalls} · ${r.inputTokens}/${r.outputTokens}` : '-'),
      el('td', null, r.note ?? ''),
    ),
  );
  const head = el('tr', null, ...['state', 'step', 'started', 'duration', 'cost', 'calls · tokens in/out', 'note'].map((h, i) => el('th', i >= 3 && i <= 5 ? { class: 'num' } : null, h)));
  const parts = [
    el('div', { class: 'detail-head' }, el('h2', null, `${s.frId}: ${s.fr.title}`), el('a', { href: '#/', class: 'close' }, 'close')),
    el(
      'p',
      { class: 'detail-meta' },
      el('span', { class: `badge state-${s.state}` }, s.state),
      ` step ${s.step}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''} · round ${s.round}${s.strategy ? ` · tier ${s.strategy.tier}` : ''}${s.score !== undefined ? ` · score ${s.score}` : ''} · total ${formatCost(s.costUsd)}`,
    ),
    s.failure ? el('p', { class: 'error' }, `${s.failure.code}: ${s.failure.reason}`) : null,
    el(
      'p',
      { class: 'links' },
      'PR: ',
      s.pr ? linkOrText(d.links.pr, `${s.pr.url}${s.pr.draft ? ' (draft)' : ''}`, s.pr.url) : 'none yet',
      ' · trace: ',
      linkOrText(d.links.trace, s.traceId, `${s.traceId} (agency trace ${s.frId})`),
    ),
    el('div', { class: 'actions' }, note, ...buttons, el('span', { id: 'action-result', role: 'status', class: result ? (result.ok ? 'ok' : 'error') : '' }, result?.text ?? '')),
    el('h3', null, 'Timeline'),
    el('table', { class: 'timeline' }, el('thead', null, head), el('tbody', null, ...rows)),
    d.timeline.otherCostUsd ? el('p', { class: 'muted' }, `other model cost: ${formatCost(d.timeline.otherCostUsd)}`) : null,
    el('h3', null, 'Events'),
    el('ol', { class: 'events' }, ...d.events.slice(-50).map((e) => renderEvent(e, false))),
  ];
  panel.replaceChildren(...parts.filter((p): p is UiElement => p !== null));
  panel.hidden = false;
  if (typing) note.focus();
}

export async function getJson(url: string): Promise<unknown> {
  const res = await ui().fetch(url, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new Error(body.message ?? `${url}: HTTP ${res.status}`);
  return body;
}

export async function act(ctx: UiContext, frId: string, action: string, note: string): Promise<void> {
  const out = ui().document.getElementById('action-result');
  if (ctx.actionPending) return;
  ctx.actionPending = true;
  if (out) out.textContent = `${action}…`;
  try {
    const body = note ? (action === 'cancel' || action === 'reject' ? { reason: note, comment: note } : { comment: note }) : {};
    const res = await ui().fetch(`/api/sagas/${encodeURIComponent(frId)}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = (await res.json().catch(() => ({}))) as { message?: string; state?: string };
    const text = res.ok ? `${action}: now ${answer.state ?? 'updated'}` : `${action} refused: ${answer.message ?? `HTTP ${res.status}`}`;
    ctx.result = { frId, text, ok: res.ok };
    if (res.ok) {
      const input = ui().document.getElementById('action-note');
      if (input) input.value = '';
    }
    await refresh(ctx);
  } finally {
    ctx.actionPending = false;
  }
}

export async function refresh(ctx: UiContext): Promise<void> {
  const doc = ui().document;
  const hash = /^#\/fr\/([A-Za-z0-9_-]+)$/.exec(ui().location.hash);
  ctx.selected = hash ? hash[1] : undefined;
  try {
    renderOverview(ctx, (await getJson('/api/overview')) as OverviewData);
    const panel = doc.getElementById('detail');
    if (ctx.selected) renderDetail(ctx, (await getJson(`/api/sagas/${ctx.selected}`)) as DetailData);
    else if (panel) panel.hidden = true;
  } catch (e) {
    doc.getElementById('errors')?.replaceChildren(el('p', { class: 'error' }, (e as Error).message));
  }
}

export function scheduleRefresh(ctx: UiContext, delayMs: number): void {
  if (ctx.timer !== undefined) ui().clearTimeout(ctx.timer);
  ctx.timer = ui().setTimeout(() => {
    ctx.timer = undefined;
    void refresh(ctx);
  }, delayMs);
}

export function main(): void {
  const ctx: UiContext = {};
  const live = ui().document.getElementById('live');
  const setLive = (text: string, on: boolean) => {
    if (!live) return;
    live.textContent = text;
    live.className = on ? 'live on' : 'live off';
  };
  const source = new (ui().EventSource)('/api/events');
  source.addEventListener('hello', () => setLive('live', true));
  source.addEventListener('agency', () => scheduleRefresh(ctx, 250));
  source.onerror = () => setLive('reconnecting…', false);
  ui().addEventListener('hashchange', () => void refresh(ctx));
  // Events drive refreshes; the timer only catches what a dropped connection missed.
  ui().setInterval(() => void refresh(ctx), 30_000);
  void refresh(ctx);
}

/** Serialized in this order; `main()` is called last. */
export const CLIENT_FUNCTIONS = [ui, el, formatDuration, formatCost, formatTime, stateGroup, actionsFor, linkOrText, renderOverview, renderEvent, renderDetail, getJson, act, refresh, scheduleRefresh, main] as const;
