const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;

/** The headings of the body sections the FR's phases and acceptance criteria are read from. */
export const LISTED_SECTIONS = { phases: /^phases?\b/i, acceptanceCriteria: /^acceptance\s+criteria\b/i } as const;

/**
 * The body without the sections whose heading matches one of `headings` (each up to the next
 * heading of its level or higher). Prompts show an FR's phases and criteria as numbered lists of
 * their own; leaving their sections in the body as well sent them twice in every prompt.
 */
export function withoutSections(body: string, headings: readonly RegExp[]): string {
  if (headings.length === 0) return body;
  const out: string[] = [];
  let skipping = 0;
  for (const line of body.split(/\r?\n/)) {
    const h = HEADING.exec(line);
    if (h && skipping && h[1]!.length <= skipping) skipping = 0;
    if (h && !skipping && headings.some((re) => re.test(h[2]!))) skipping = h[1]!.length;
    if (!skipping) out.push(line);
  }
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * The body's headings moved down so the highest is at `level`: the body sits under a prompt's own
 * `## Description`, and an FR's `## Problem` read as a sibling of it, not a part. Fenced code is
 * left as it is; no heading goes past level 6.
 */
export function nestedHeadings(body: string, level: number): string {
  const lines = body.split(/\r?\n/);
  let fenced = false;
  const headingAt = lines.map((line) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    return !fenced && HEADING.test(line);
  });
  const levels = lines.filter((_, i) => headingAt[i]).map((l) => HEADING.exec(l)![1]!.length);
  const shift = levels.length > 0 ? level - Math.min(...levels) : 0;
  if (shift <= 0) return body;
  return lines.map((l, i) => (headingAt[i] ? `${'#'.repeat(Math.min(6, HEADING.exec(l)![1]!.length + shift))}${l.replace(/^#+/, '')}` : l)).join('\n');
}

/**
 * The FR's body for a prompt that lists its phases and criteria separately: their sections left
 * out when the lists are not empty, its headings nested under the prompt's `## Description`.
 */
export function bodyForPrompt(fr: { body: string; phases: readonly string[]; acceptanceCriteria: readonly string[] }): string {
  const drop = [...(fr.phases.length > 0 ? [LISTED_SECTIONS.phases] : []), ...(fr.acceptanceCriteria.length > 0 ? [LISTED_SECTIONS.acceptanceCriteria] : [])];
  return nestedHeadings(withoutSections(fr.body, drop), 3);
}

/**
 * A markdown list item whose continuation lines are indented under its text, so a multi-line
 * phase or criterion (as the FR parser keeps it, dedented) stays one item wherever it is shown.
 */
export function listItem(marker: string, text: string): string {
  const [first = '', ...rest] = text.trim().split('\n');
  return [`${marker}${first}`, ...rest.map((l) => (l ? `${' '.repeat(marker.length)}${l}` : l))].join('\n');
}
