import { actionsFor, formatCost, formatDuration, formatTime, stateGroup } from './client.js';
import { clientScript } from './client-script.js';

describe('dashboard client helpers', () => {
  it('formats durations, costs and times for people', () => {
    expect([formatDuration(250), formatDuration(4_400), formatDuration(125_000), formatDuration(2 * 3600_000 + 5 * 60_000), formatDuration(50 * 3600_000), formatDuration(-1)]).toEqual(['250 ms', '4 s', '2 min 5 s', '2 h 5 min', '2 d 2 h', '-']);
    expect([formatCost(0), formatCost(0.0042), formatCost(1.5)]).toEqual(['$0', '$0.0042', '$1.50']);
    expect(formatTime('2026-01-02T03:04:05.678Z')).toBe('2026-01-02 03:04:05');
    expect(formatTime('not a date')).toBe('not a date');
  });

  it('sorts states into the board columns', () => {
    expect(['planning', 'awaiting-merge', 'awaiting-plan-approval', 'done', 'failed', 'blocked', 'cancelled', 'discovered'].map(stateGroup)).toEqual(['running', 'waiting', 'waiting', 'done', 'stopped', 'stopped', 'stopped', 'running']);
  });

  it('enables only the buttons a state allows', () => {
    expect(actionsFor('awaiting-merge')).toEqual({ approve: true, reject: true, cancel: true, retry: false });
    expect(actionsFor('coding')).toEqual({ approve: false, reject: false, cancel: true, retry: false });
    expect(actionsFor('failed')).toEqual({ approve: false, reject: false, cancel: false, retry: true });
    expect(actionsFor('done')).toEqual({ approve: false, reject: false, cancel: false, retry: false });
  });

  it('serializes into one self-contained script that parses and calls main()', () => {
    const script = clientScript();
    expect(() => new Function(script)).not.toThrow();
    expect(script.trimEnd().endsWith('main();\n})();')).toBe(true);
    // Nothing a browser cannot run: no module syntax, no bundler or test-runner helpers.
    expect(script).not.toMatch(/\bimport\b|\bexport\b|\brequire\(|__vite|_ts_|__vi_/);
  });
});
