/**
 * A leading round label in a coder's summary ("Round 2:", "Round 2 -", "round 2 —", "R2:",
 * "**Round 2:**", "Round 2 (after review):"). Markdown bold may wrap the label; a hyphen or a
 * full stop counts only before a space, so "R2-compat" or "Round 2.5" are not labels.
 */
const ROUND_LABEL = /^\s*(\*\*|__)?(?:round|r)\s*\d+(?:\s*\([^)\n]{0,40}\))?\s*(?:\1)?\s*(?::|[–—]|[-.](?=\s))\s*(?:\1)?\s*/i;

/**
 * The summary without a round label of its own, for the places where the agency writes its own
 * (the PR's "What changed", a fix round's commit subject, the FR log's coded line): a model that
 * starts with "Round 2:" read "Round 2 (after review): Round 2: ..." (relay trial rou3).
 * A summary that is nothing but a label is kept as it is.
 */
export function withoutRoundLabel(summary: string): string {
  const rest = summary.replace(ROUND_LABEL, '');
  return rest.trim() ? rest : summary;
}
