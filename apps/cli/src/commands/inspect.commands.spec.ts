import { stripVTControlCharacters } from 'node:util';
import type { SagaSummary } from '../api.client.js';
import { renderStatus, stepOf, watchTitle } from './inspect.commands.js';

const saga = (over: Partial<SagaSummary> = {}): SagaSummary => ({
  frId: 'FR-001',
  sagaId: 'FR-001-r1',
  title: 'Add a farewell function',
  state: 'coding',
  step: 'code',
  attempt: 1,
  round: 1,
  costUsd: 0.01234,
  traceId: '0'.repeat(32),
  updatedAt: '2025-01-01T00:00:00.000Z',
  ...over,
});

/** The table's body rows as cells, without colours and borders. */
const rows = (text: string) =>
  stripVTControlCharacters(text)
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));

describe('status table', () => {
  it('says how to start when there are no FRs', () => {
    expect(renderStatus([])).toBe('no FRs yet: move an FR file into 10_features/03_planned/');
  });

  it('shows one row per FR under the headings, in the order given', () => {
    const text = renderStatus([
      saga({ tier: 'small', prUrl: 'local://example/greeter/pulls/3', state: 'awaiting-merge', step: 'merge', round: 2 }),
      saga({ frId: 'FR-002', sagaId: 'FR-002-r1', title: 'Other', state: 'discovered', step: 'route', round: 0, costUsd: 0 }),
    ]);
    expect(rows(text)).toEqual([
      ['FR', 'title', 'state', 'step', 'round', 'tier', 'cost $', 'PR'],
      ['FR-001', 'Add a farewell function', 'awaiting-merge', 'merge', '2', 'small', '0.0123', 'local://example/greeter/pulls/3'],
      ['FR-002', 'Other', 'discovered', 'route', '0', '', '0.0000', ''],
    ]);
  });

  it('cuts long titles at 40 characters and shows the failure where there is no PR', () => {
    const [, row] = rows(renderStatus([saga({ title: 'x'.repeat(60), state: 'failed', failure: 'TESTS_FAILED: npm test exited 1' })]));
    expect(row![1]).toBe('x'.repeat(40));
    expect(row![7]).toBe('TESTS_FAILED: npm test exited 1');
  });

  it('prefers the PR over the failure', () => {
    const [, row] = rows(renderStatus([saga({ prUrl: 'https://github.com/a/b/pull/1', failure: 'X: y' })]));
    expect(row![7]).toBe('https://github.com/a/b/pull/1');
  });

  it('marks a retried step with its attempt', () => {
    expect(stepOf(saga())).toBe('code');
    expect(stepOf(saga({ attempt: 3 }))).toBe('code #3');
    expect(rows(renderStatus([saga({ attempt: 2 })]))[1]![3]).toBe('code #2');
  });

  it('titles each redraw of --watch with the interval and the time', () => {
    expect(watchTitle(2, new Date('2025-03-04T05:06:07.890Z'))).toBe('every 2 s, 05:06:07 UTC (Ctrl-C stops)');
    expect(watchTitle(0.5, new Date('2025-03-04T23:59:59.000Z'))).toBe('every 0.5 s, 23:59:59 UTC (Ctrl-C stops)');
  });
});
