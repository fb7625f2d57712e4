import type { LlmUsageEvent } from '@agency/contracts';
import { context } from '@agency/telemetry';
import { UsageWindow, type CallUsage } from './usage-coalescing.js';

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

/** The window's groups after `calls` came. */
function coalesceUsage(calls: CallUsage[]) {
  const window = new UsageWindow();
  for (const c of calls) window.add(c);
  return window.take();
}

describe('UsageWindow', () => {
  it('leaves a lone call as it is: no `calls`, the same payload', () => {
    const [only, ...rest] = coalesceUsage([call({ jobId: 'job-1' })]);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ frId: 'FR-1', sagaId: 'saga-1', step: 'code', jobId: 'job-1', payload: payload() });
    expect(only!.payload).not.toHaveProperty('calls');
  });

  it('sums the calls of one group, cache writes included, and keeps the latest end', () => {
    const [group] = coalesceUsage([call({ endedAtMs: 1_000 }), call({ endedAtMs: 3_000 }, { cacheWriteTokens: 7 }), call({ endedAtMs: 2_000 })]);
    expect(group!.payload).toEqual(
      payload({ inputTokens: 300, cachedInputTokens: 120, outputTokens: 30, costUsd: 1.5, latencyMs: 600, cacheWriteTokens: 7, calls: 3 }),
    );
    expect(group!.endedAtMs).toBe(3_000);
  });

  it('keeps apart what a consumer tells apart: FR, saga, step, job, alias, provider, model, outcome and key', () => {
    const calls = [
      call(),
      call({ frId: 'FR-2' }),
      call({ sagaId: 'saga-2' }),
      call({ step: 'review' }),
      call({ jobId: 'job-2' }),
      call({}, { alias: 'planner' }),
      call({}, { provider: 'anthropic' }),
      call({}, { model: 'gpt-y' }),
      call({}, { status: 'error' }),
      call({}, { apiKeyId: 'team-a' }),
      call(),
    ];
    const groups = coalesceUsage(calls);
    expect(groups).toHaveLength(10);
    // In the order each group's first call came; the last call joined the first group.
    expect(groups[0]!.payload.calls).toBe(2);
    expect(groups.slice(1).every((g) => g.payload.calls === undefined)).toBe(true);
    expect(groups[1]!.frId).toBe('FR-2');
  });

  it('starts no group without room, but still folds a call into a group it has; take() empties it', () => {
    const window = new UsageWindow();
    expect(window.add(call())).toBe(true);
    expect(window.add(call(), false)).toBe(true);
    expect(window.add(call({ step: 'review' }), false)).toBe(false);
    expect(window.size).toBe(1);
    expect(window.take().map((g) => g.payload.calls)).toEqual([2]);
    expect(window.size).toBe(0);
    expect(window.take()).toEqual([]);
  });

  it('does not change the calls it was given', () => {
    const first = call();
    coalesceUsage([first, call()]);
    expect(first.payload).toEqual(payload());
  });
});
