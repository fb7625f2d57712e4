import { stripVTControlCharacters } from 'node:util';
import type { SagaSummary } from '../api.client.js';
import { mergeMessage, renderStatus, stepOf, watchTitle } from './inspect.commands.js';

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
    .map((l) =>
      l
        .split('│')
        .slice(1, -1)
        .map((c) => c.trim()),
    );

describe('status table', () => {
  it('lists the FR files the intake refused or holds after the FRs, with why', () => {
    const refused = {
      frId: 'FR-009',
      path: '10_features/03_planned/FR-009-big.md',
      now: '10_features/09_blocked/FR-009-big.md',
      code: 'TOO_LARGE' as const,
      reason: 'the file is 2000000 bytes; FR files may be at most 100000 bytes (FR_MAX_BYTES)',
      at: '2025-01-01T00:00:00.000Z',
    };
    const text = stripVTControlCharacters(renderStatus([saga()], [refused]));
    expect(text).toContain('refused or held at intake:');
    expect(rows(text).at(-1)).toEqual([
      'FR-009',
      'TOO_LARGE',
      '10_features/09_blocked/FR-009-big.md',
      'the file is 2000000 bytes; FR files may be at most 100000 bytes (FR_MAX_BYTES)',
    ]);
    expect(stripVTControlCharacters(renderStatus([], [refused]))).not.toContain('no FRs yet');
  });

  it('says how to start when there are no FRs', () => {
    expect(renderStatus([])).toBe('no FRs yet: move an FR file into 10_features/03_planned/');
  });

  it('says how many older finished runs the listing left out', () => {
    const text = stripVTControlCharacters(renderStatus([saga()], [], false, 4800));
    expect(text.split('\n').at(-1)).toBe('4800 older finished run(s) not listed; agency logs FR-x shows any FR');
    expect(renderStatus([saga()], [], false)).not.toContain('not listed');
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

describe('agency merge', () => {
  it('says merged, with the merge commit, when it merged the PR', () => {
    expect(
      mergeMessage('FR-001', 'local://example/greeter/pulls/1', {
        pull: { url: 'local://example/greeter/pulls/1', mergeSha: 'f'.repeat(40) },
        alreadyMerged: false,
      }),
    ).toBe('FR-001: merged local://example/greeter/pulls/1 as ffffffffffff; the FR moves to done');
  });

  it('says plainly that an FR merged already had nothing to merge', () => {
    const line = mergeMessage('FR-001', 'local://example/greeter/pulls/1', {
      pull: { url: 'x', mergeSha: 'f'.repeat(40), mergedAt: '2025-01-01T00:00:00.000Z' },
      alreadyMerged: true,
    });
    expect(line).toBe('FR-001: local://example/greeter/pulls/1 was already merged as ffffffffffff at 2025-01-01T00:00:00.000Z; nothing to merge');
  });
});

describe('the status table when piped', () => {
  it('has no colour escapes', () => {
    expect(renderStatus([saga()], [], false)).not.toContain('\u001b');
  });
});
