import { Messages } from '@agency/contracts';

/** An event of the stream as `agency logs` reads it: the envelope's fields it shows. */
export interface LoggedEvent {
  type: string;
  step: string;
  attempt: number;
  occurredAt: string;
  payload: Record<string, unknown>;
}

/** How much of an event's detail one line keeps. */
const DETAIL_MAX_CHARS = 140;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** A model call's cost: tokens in and out, dollars, and how many calls when the gateway merged several into one event. */
function usageDetail(p: Record<string, unknown>): string {
  const calls = num(p.calls) ?? 1;
  const cost = num(p.costUsd);
  const parts = [
    `${num(p.inputTokens) ?? '?'} in / ${num(p.outputTokens) ?? '?'} out tokens`,
    cost === undefined ? undefined : `$${cost.toFixed(4)}`,
    typeof p.model === 'string' ? p.model : undefined,
    p.status === 'error' ? 'error' : undefined,
  ].filter((s) => s !== undefined);
  return `${parts.join(', ')}${calls > 1 ? ` (${calls} calls)` : ''}`;
}

/** The lint the test step ran after the tests: passed, failed (exit code) or timed out. */
function lintDetail(v: unknown): string | undefined {
  const lint = record(v);
  if (!lint) return undefined;
  const exit = num(lint.exitCode);
  const outcome = lint.timedOut === true ? 'timed out' : exit === 0 ? 'passed' : `failed (exit ${exit ?? '?'})`;
  return `lint ${outcome}`;
}

/** A test run's counts, round and lint: what an operator scans a timeline for. */
function testedDetail(p: Record<string, unknown>): string {
  const c = record(p.counts);
  const counts = c ? `${num(c.passed) ?? '?'} passed, ${num(c.failed) ?? '?'} failed of ${num(c.total) ?? '?'}` : undefined;
  const verdict = p.timedOut === true ? 'timed out' : p.passed === true ? 'passed' : p.passed === false ? 'failed' : undefined;
  return [verdict && counts ? `${verdict}: ${counts}` : (verdict ?? counts), lintDetail(p.lint)].filter((s) => s !== undefined).join('; ');
}

function scoredDetail(p: Record<string, unknown>): string {
  return `score ${num(p.score) ?? '?'}, tier ${typeof p.tier === 'string' ? p.tier : '?'}`;
}

/** One PR gives several events (opened, then its description updated with the review and the cost): say which. */
function prDetail(p: Record<string, unknown>): string {
  const what = p.created === false ? 'description updated' : `opened${p.draft === true ? ' as a draft' : ''}`;
  return `PR #${num(p.number) ?? '?'} ${what}${typeof p.url === 'string' ? `: ${p.url}` : ''}`;
}

/** Details for events whose payload has none of the generic fields (summary, reason, url, ...). */
const DETAIL_BY_TYPE: Record<string, (p: Record<string, unknown>) => string> = {
  [Messages.PrOpened.type]: prDetail,
  [Messages.LlmUsage.type]: usageDetail,
  [Messages.Tested.type]: testedDetail,
  [Messages.FrScored.type]: scoredDetail,
};

function genericDetail(p: Record<string, unknown>): unknown {
  return (
    p.summary ??
    p.reason ??
    p.url ??
    p.message ??
    (p.to ? `${String(p.from)} -> ${String(p.to)}` : Array.isArray(p.problems) ? `${String(p.code)}: ${p.problems.join('; ')}` : '')
  );
}

/** One event, one line: time, type, step (with its attempt after the first), and what happened. */
export function eventLine(env: LoggedEvent): string {
  const byType = DETAIL_BY_TYPE[env.type];
  const detail = byType ? byType(env.payload) : genericDetail(env.payload);
  // One event, one line: a coder's summary keeps its newlines in the event.
  return `${env.occurredAt.slice(11, 19)}  ${env.type.padEnd(30)} ${env.step}${env.attempt > 1 ? `#${env.attempt}` : ''}  ${String(detail).replace(/\s+/g, ' ').slice(0, DETAIL_MAX_CHARS)}`;
}

/**
 * Whether a heartbeat says again what the last heartbeat of its run, step and attempt said: beats
 * come every few seconds while one model call runs, so `agency logs` was one third repeats of
 * "step 2/30: asking coder" (relay trial rou3). Other events are never repeats.
 */
export class HeartbeatRepeats {
  private readonly said = new Map<string, string>();

  repeats(env: LoggedEvent & { sagaId?: string }): boolean {
    if (env.type !== Messages.AgentHeartbeat.type) return false;
    const key = `${env.sagaId ?? ''}|${env.step}|${env.attempt}`;
    const text = String(env.payload.message ?? '');
    if (this.said.get(key) === text) return true;
    this.said.set(key, text);
    return false;
  }
}
