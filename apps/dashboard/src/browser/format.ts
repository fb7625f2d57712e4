// Pure helpers of the dashboard's page (no DOM): numbers and times as people read them. The
// reading of states (board columns, allowed actions) is the contracts' (saga-rules.ts).

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

/** What the planner read before planning, in one line: `read 3 time(s) in 2 turns: read_file {"path":"src/a.ts"}; ...`. */
export function exploredText(meta: { explored?: string[]; turns?: number } | undefined, max = 12): string {
  const calls = meta?.explored ?? [];
  if (calls.length === 0) return '';
  const shown = calls.slice(0, max).join('; ');
  const more = calls.length > max ? `; and ${calls.length - max} more` : '';
  const turns = meta?.turns ? ` in ${meta.turns} turn(s)` : '';
  return `read before planning, ${calls.length} call(s)${turns}: ${shown}${more}`;
}
