import type { SagaRecordView, SagaState } from '@agency/contracts';
import { buildTimeline } from './timeline.js';
import type { StepCost } from '../events/event-feed.service.js';

const cost = (costUsd: number, calls = 1): StepCost => ({ costUsd, calls, inputTokens: 100 * calls, outputTokens: 10 * calls });

function saga(history: SagaRecordView['history'], state: SagaState, extra: Partial<SagaRecordView> = {}): SagaRecordView {
  return {
    sagaId: 'FR-1-r1',
    frId: 'FR-1',
    run: 1,
    state,
    step: 'x',
    attempt: 1,
    round: 1,
    tries: {},
    fr: { title: 'T' },
    traceId: 't'.repeat(32),
    costUsd: 0,
    history,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:10:00.000Z',
    ...extra,
  };
}

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/** A history through `states`, one second apart. */
const through = (states: SagaState[]): SagaRecordView['history'] => states.slice(1).map((to, i) => ({ at: at(i + 1), from: states[i]!, to }));

describe('buildTimeline', () => {
  const history: SagaRecordView['history'] = [
    { at: at(1), from: 'discovered', to: 'routed' },
    { at: at(2), from: 'routed', to: 'queued' },
    { at: at(5), from: 'queued', to: 'planning' },
    { at: at(20), from: 'planning', to: 'coding' },
    { at: at(50), from: 'coding', to: 'testing' },
    { at: at(70), from: 'testing', to: 'reviewing' },
    { at: at(80), from: 'reviewing', to: 'fixing', reason: 'request-changes' },
    { at: at(100), from: 'fixing', to: 'testing' },
    { at: at(110), from: 'testing', to: 'reviewing' },
    { at: at(120), from: 'reviewing', to: 'opening-pr' },
    { at: at(125), from: 'opening-pr', to: 'awaiting-merge' },
  ];

  it('has a row per state with its step, start and duration; the current one runs until now', () => {
    const t = buildTimeline(saga(history, 'awaiting-merge'), new Map(), new Date(at(185)));
    expect(t.rows.map((r) => `${r.state}:${r.step}:${r.durationMs / 1000}`)).toEqual([
      'discovered:route:1',
      'routed:queue:1',
      'queued:queue:3',
      'planning:plan:15',
      'coding:code-r1:30',
      'testing:test-r1:20',
      'reviewing:review-r1:10',
      'fixing:code-r2:20',
      'testing:test-r2:10',
      'reviewing:review-r2:10',
      'opening-pr:open-pr-r2:5',
      'awaiting-merge:merge-r2:60',
    ]);
    expect(t.rows.filter((r) => r.current).map((r) => r.state)).toEqual(['awaiting-merge']);
    expect(t.rows[6]!.note).toBe('request-changes');
    expect(t.rows[6]!.endedAt).toBe(at(80));
  });

  it('puts each step cost on its first row only, and reports cost no row stands for', () => {
    const costs = new Map([
      ['plan', cost(0.1)],
      ['code-r1', cost(0.25, 3)],
      ['code-r2', cost(0.05)],
      ['review-r1', cost(0.02)],
      ['queue', cost(0.5)],
      ['mystery', cost(0.07)],
    ]);
    const t = buildTimeline(saga(history, 'awaiting-merge'), costs, new Date(at(200)));
    const by = Object.fromEntries(t.rows.map((r) => [`${r.state}:${r.step}`, r.costUsd]));
    expect(by).toMatchObject({
      'planning:plan': 0.1,
      'coding:code-r1': 0.25,
      'fixing:code-r2': 0.05,
      'reviewing:review-r1': 0.02,
      'routed:queue': 0.5,
      'queued:queue': 0,
    });
    expect(t.rows.find((r) => r.step === 'code-r1')).toMatchObject({ modelCalls: 3, inputTokens: 300, outputTokens: 30 });
    expect(t.otherCostUsd).toBeCloseTo(0.07);
  });

  it('ends at a terminal state with no running row, and a retry does not start a new round', () => {
    const h: SagaRecordView['history'] = [
      { at: at(1), from: 'discovered', to: 'routed' },
      { at: at(2), from: 'routed', to: 'planning' },
      { at: at(3), from: 'planning', to: 'coding' },
      { at: at(9), from: 'coding', to: 'failed', reason: 'model answer unusable' },
      { at: at(30), from: 'failed', to: 'coding', reason: 'retried by ada' },
      { at: at(40), from: 'coding', to: 'cancelled' },
    ];
    const t = buildTimeline(saga(h, 'cancelled'), new Map(), new Date(at(99)));
    expect(t.rows.map((r) => r.step)).toEqual(['route', 'queue', 'plan', 'code-r1', '', 'code-r1', '']);
    expect(t.rows.some((r) => r.current)).toBe(false);
    expect(t.rows[3]!.note).toBe('model answer unusable');
    expect(t.rows.at(-1)!.durationMs).toBe(0);
  });

  it('keeps the round of a run a retry resumed through the queue; a review round on the PR starts the next one', () => {
    // Round 2 fails and is retried (through routing and the queue); then a person asks for changes on the PR.
    const h = through([
      'discovered',
      'routed',
      'queued',
      'planning',
      'coding',
      'testing',
      'reviewing',
      'fixing',
      'failed',
      'routed',
      'queued',
      'fixing',
      'testing',
      'reviewing',
      'opening-pr',
      'awaiting-merge',
      'routed',
      'queued',
      'fixing',
    ]);
    const t = buildTimeline(saga(h, 'fixing', { round: 3 }), new Map(), new Date(at(20)));
    expect(t.rows.slice(6).map((r) => `${r.state}:${r.step}`)).toEqual([
      'reviewing:review-r1',
      'fixing:code-r2',
      'failed:',
      'routed:queue',
      'queued:queue',
      'fixing:code-r2',
      'testing:test-r2',
      'reviewing:review-r2',
      'opening-pr:open-pr-r2',
      'awaiting-merge:merge-r2',
      'routed:queue',
      'queued:queue',
      'fixing:code-r3',
    ]);
  });

  it('shows a fresh saga as one running row', () => {
    const t = buildTimeline(saga([], 'discovered'), new Map(), new Date(at(4)));
    expect(t.rows).toEqual([expect.objectContaining({ state: 'discovered', step: 'route', current: true, durationMs: 4000 })]);
  });
});
