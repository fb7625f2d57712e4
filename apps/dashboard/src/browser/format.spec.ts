import { exploredText, formatCost, formatDuration, formatTime } from './format.js';

describe('dashboard page helpers', () => {
  it('formats durations, costs and times for people', () => {
    expect([
      formatDuration(250),
      formatDuration(4_400),
      formatDuration(125_000),
      formatDuration(2 * 3600_000 + 5 * 60_000),
      formatDuration(50 * 3600_000),
      formatDuration(-1),
    ]).toEqual(['250 ms', '4 s', '2 min 5 s', '2 h 5 min', '2 d 2 h', '-']);
    expect([formatCost(0), formatCost(0.0042), formatCost(1.5)]).toEqual(['$0', '$0.0042', '$1.50']);
    expect(formatTime('2026-01-02T03:04:05.678Z')).toBe('2026-01-02 03:04:05');
    expect(formatTime('not a date')).toBe('not a date');
  });
});

describe('exploredText', () => {
  it('says what the planner read before planning, bounded, and nothing when it read nothing', () => {
    expect(exploredText(undefined)).toBe('');
    expect(exploredText({ explored: [] })).toBe('');
    expect(exploredText({ explored: ['read_file {"path":"src/a.ts"}', 'search {"pattern":"greet"}'], turns: 3 })).toBe(
      'read before planning, 2 call(s) in 3 turn(s): read_file {"path":"src/a.ts"}; search {"pattern":"greet"}',
    );
    expect(exploredText({ explored: ['a', 'b', 'c'] }, 2)).toBe('read before planning, 3 call(s): a; b; and 1 more');
  });
});
