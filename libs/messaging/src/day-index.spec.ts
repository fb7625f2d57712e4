import { dayOf, daysAfter } from './day-index.js';

describe('day indexes', () => {
  it('names a time by its UTC day', () => {
    expect(dayOf(new Date('2026-12-03T23:59:59+00:00'))).toBe('2026-12-03');
    expect(dayOf(new Date('2026-12-03T00:30:00+02:00'))).toBe('2026-12-02');
  });

  it('lists the days after the last one up to the given one, across a month end, and none when caught up', () => {
    expect(daysAfter('2026-11-29', '2026-12-02')).toEqual(['2026-11-30', '2026-12-01', '2026-12-02']);
    expect(daysAfter('2026-12-02', '2026-12-02')).toEqual([]);
    expect(daysAfter('2026-12-03', '2026-12-02')).toEqual([]);
  });
});
