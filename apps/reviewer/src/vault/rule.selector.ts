import type { ReviewRule } from '@agency/vault';
import { pathMatches } from '../diff/glob.matcher.js';

export interface RuleSelection {
  applied: ReviewRule[];
  /** Rules left out, and why: the report shows them so a missing rule can be explained. */
  skipped: { id: string; reason: string }[];
}

/** A rule applies when it has no `applies_to` (every file) or one of its globs matches a changed file. */
export function selectRules(rules: readonly ReviewRule[], changedFiles: readonly string[]): RuleSelection {
  const applied: ReviewRule[] = [];
  const skipped: RuleSelection['skipped'] = [];
  for (const rule of rules) {
    if (rule.appliesTo.length === 0 || changedFiles.some((file) => rule.appliesTo.some((glob) => pathMatches(file, glob)))) applied.push(rule);
    else skipped.push({ id: rule.id, reason: `no changed file matches ${rule.appliesTo.join(', ')}` });
  }
  return { applied, skipped };
}
