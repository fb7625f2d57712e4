import type { LlmUsageEvent } from '@agency/contracts';
import { context } from '@agency/telemetry';
import { USAGE_FOLD_ABOVE, UsageWindow, type CallUsage } from './usage-coalescing.js';

const payload = (patch: Partial<LlmUsageEvent> = {}): LlmUsageEvent => ({
  alias: 'coder',
  provider: 'openai',
  model: 'gpt-x',
  inputTokens: 100,
  cachedInputTokens: 40,
  outputTokens: 10,
  costUsd: 0.5,
  latencyMs: 200,
  status: 'ok',
  ...patch,
});
const call = (patch: Partial<CallUsage> = {}, p: Partial<LlmUsageEvent> = {}): CallUsage => ({
  frId: 'FR-1',
  sagaId: 'saga-1',
  step: 'code',
  payload: payload(p),
  trace: context.active(),
  endedAtMs: 1_000,
  ...patch,
});

/** The window's events after `calls` came. */
function eventsOf(calls: CallUsage[]) {
  const window = new UsageWindow();
  for (const c of calls) window.add(c);
  return window.take();
}
const many = (n: number, patch: Partial<CallUsage> = {}, p: Partial<LlmUsageEvent> = {}) => Array.from({ length: n }, () => call(patch, p));

describe('UsageWindow', () => {
  it(`gives every call its own event, unchanged, while a group has at most ${USAGE_FOLD_ABOVE}`, () => {
    const calls = many(USAGE_FOLD_ABOVE, { jobId: 'job-1' });
    const events = eventsOf(calls);
    expect(events).toHaveLength(USAGE_FOLD_ABOVE);
    expect(events.every((e, i) => e === calls[i])).toBe(true);
    expect(events[0]!.payload).not.toHaveProperty('calls');
  });

  it('folds a busier group into one event: sums, cache writes included, the count and the latest end', () => {
    const calls = many(USAGE_FOLD_ABOVE + 2);
    calls[1] = call({ endedAtMs: 3_000 }, { cacheWriteTokens: 7 });
    calls[2] = call({ endedAtMs: 2_000 });
    const [folded, ...rest] = eventsOf(calls);
    expect(rest).toEqual([]);
    const n = USAGE_FOLD_ABOVE + 2;
    expect(folded!.payload).toEqual(
      payload({ inputTokens: 100 * n, cachedInputTokens: 40 * n, outputTokens: 10 * n, costUsd: 0.5 * n, latencyMs: 200 * n, cacheWriteTokens: 7, calls: n }),
    );
    expect(folded!.endedAtMs).toBe(3_000);
    // The calls given are left as they were.
    expect(calls[0]!.payload).toEqual(payload());
  });

  it('keeps apart what a consumer tells apart: FR, saga, step, job, alias, provider, model, outcome and key', () => {
    const others: Array<[Partial<CallUsage>, Partial<LlmUsageEvent>]> = [
      [{ frId: 'FR-2' }, {}],
      [{ sagaId: 'saga-2' }, {}],
      [{ step: 'review' }, {}],
      [{ jobId: 'job-2' }, {}],
      [{}, { alias: 'planner' }],
      [{}, { provider: 'anthropic' }],
      [{}, { model: 'gpt-y' }],
      [{}, { status: 'error' }],
      [{}, { apiKeyId: 'team-a' }],
    ];
    const calls = [...many(USAGE_FOLD_ABOVE + 1), ...others.flatMap(([c, p]) => many(USAGE_FOLD_ABOVE + 1, c, p))];
    const events = eventsOf(calls);
    expect(events).toHaveLength(others.length + 1);
    expect(events.every((e) => e.payload.calls === USAGE_FOLD_ABOVE + 1)).toBe(true);
    // In the order each group's first call came.
    expect(events[1]!.frId).toBe('FR-2');
    expect(events[9]!.payload.apiKeyId).toBe('team-a');
  });

  it('counts the events it would give, needs no room to fold, and take() empties it', () => {
    const window = new UsageWindow();
    for (const c of many(USAGE_FOLD_ABOVE)) expect(window.add(c)).toBe(true);
    expect(window.size).toBe(USAGE_FOLD_ABOVE);
    expect(window.add(call({ step: 'review' }), false)).toBe(false);
    // The fifth call of the group folds it: one event instead of five, no room needed.
    expect(window.add(call(), false)).toBe(true);
    expect(window.size).toBe(1);
    expect(window.take().map((g) => g.payload.calls)).toEqual([USAGE_FOLD_ABOVE + 1]);
    expect(window.size).toBe(0);
    expect(window.take()).toEqual([]);
  });
});
