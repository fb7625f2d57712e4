import Table from 'cli-table3';

/** What decides whether output may carry colour: a terminal that has colours (NO_COLOR, FORCE_COLOR and TERM respected). */
export interface ColourTarget {
  isTTY?: boolean;
  hasColors?: () => boolean;
}

/**
 * Colour only on a terminal: `agency status | grep FR-001`, a file or a CI log gets plain text
 * (cli-table3 colours its heads and borders unless told not to). Node's `hasColors()` reads
 * NO_COLOR, FORCE_COLOR and TERM.
 */
export function wantsColour(out: ColourTarget = process.stdout): boolean {
  return out.isTTY === true && typeof out.hasColors === 'function' && out.hasColors();
}

/** A table with the given heads, coloured only for a terminal. */
export function newTable(head: string[], colour = wantsColour()): Table.Table {
  return new Table({ head, style: colour ? {} : { head: [], border: [] } });
}
