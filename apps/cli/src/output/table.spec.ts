import { newTable, wantsColour } from './table.js';

describe('tables', () => {
  it('carry no escape codes when the output is not a terminal (a pipe, a file)', () => {
    const table = newTable(['FR', 'state'], false);
    table.push(['FR-001', 'done']);
    expect(table.toString()).not.toContain('\u001b');
  });

  it('are coloured on a terminal that has colours', () => {
    // The table's own styles, not escape codes: the colour library draws none under FORCE_COLOR=0,
    // which the test command sets.
    expect(newTable(['FR'], true).options.style).toMatchObject({ head: ['red'], border: ['grey'] });
    expect(newTable(['FR'], false).options.style).toMatchObject({ head: [], border: [] });
  });

  it('colour only a terminal that says it has colours (NO_COLOR makes hasColors false)', () => {
    expect(wantsColour({ isTTY: undefined })).toBe(false);
    expect(wantsColour({ isTTY: true, hasColors: () => false })).toBe(false);
    expect(wantsColour({ isTTY: true, hasColors: () => true })).toBe(true);
  });
});
