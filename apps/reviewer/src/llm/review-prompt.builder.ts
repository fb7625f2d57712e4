import type { EarlierReviewDto, FrSnapshotDto, TestResultDto } from '@agency/contracts';
import { bodyForPrompt, listItem, type ReviewRule } from '@agency/vault';
import type { CheckResult } from '../review/review.model.js';
import { baseFailureNames } from '../checks/basic.checks.js';

export interface PromptLimits {
  diffBytes: number;
  planChars: number;
  bodyChars: number;
}

export const DEFAULT_PROMPT_LIMITS: PromptLimits = { diffBytes: 60_000, planChars: 20_000, bodyChars: 30_000 };

export interface ReviewPromptInput {
  fr: FrSnapshotDto;
  /** The plan artifact as stored (JSON is pretty-printed). */
  plan: string;
  diff: string;
  tests: TestResultDto;
  checks: CheckResult[];
  rules: ReviewRule[];
  round: number;
  /** What the coder says it did in this round. */
  coderSummary?: string;
  /** The previous round's verdict and findings, in a fix round. */
  earlier?: EarlierReviewDto;
  /**
   * Set when no model reviewed the previous round (its deterministic checks blocked it, so the
   * model was not asked): whether a model reviewed any round before (`first: false` when a round's
   * report could not tell) and the latest that one was. Absent, the previous review was a model's.
   */
  earlierByChecks?: EarlierByChecks;
  /** The end of the test output, when the counts cannot tell (an output in no known format). */
  testOutputTail?: string;
}

export interface TruncatedDiff {
  text: string;
  truncated: boolean;
  shownBytes: number;
  totalBytes: number;
  /** Files whose section did not fit at all. */
  omittedFiles: string[];
  /** The file whose section was cut part-way. */
  partialFile?: string;
}

/** A code fence longer than any backtick run inside, so content cannot close it early. */
export function fence(content: string, lang = ''): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${content.replace(/\n$/, '')}\n${ticks}`;
}

function cutBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.byteLength <= maxBytes) return text;
  // Cut at the last whole line within the budget (and never inside a UTF-8 sequence).
  const head = buf
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  const nl = head.lastIndexOf('\n');
  return nl > 0 ? head.slice(0, nl + 1) : head;
}

function sectionPath(section: string): string {
  const header = section.split('\n', 1)[0] ?? '';
  if (!header.startsWith('diff --git ')) return '';
  const m = /^diff --git (?:"?a\/)?(.*?)(?:"? "?b\/.*)?$/.exec(header);
  return m?.[1] ?? header;
}

/**
 * Bounds the diff the model reads: whole file sections while they fit, the next one cut at a
 * line, and the names of the files left out, so the model knows what it did not see.
 */
export function truncateDiff(diff: string, maxBytes: number): TruncatedDiff {
  const totalBytes = Buffer.byteLength(diff, 'utf8');
  if (totalBytes <= maxBytes) return { text: diff, truncated: false, shownBytes: totalBytes, totalBytes, omittedFiles: [] };
  const starts = [...diff.matchAll(/^diff --git /gm)].map((m) => m.index);
  const sections = starts.length === 0 ? [diff] : [diff.slice(0, starts[0]), ...starts.map((s, i) => diff.slice(s, starts[i + 1]))].filter((s) => s.length > 0);
  let text = '';
  let full = false;
  let partialFile: string | undefined;
  const omittedFiles: string[] = [];
  for (const section of sections) {
    const left = maxBytes - Buffer.byteLength(text, 'utf8');
    const part = full || left <= 0 ? '' : cutBytes(section, left);
    if (part.length === 0) {
      omittedFiles.push(sectionPath(section));
      full = true;
      continue;
    }
    text += part;
    if (part.length < section.length) {
      partialFile = sectionPath(section) || undefined;
      full = true;
    }
  }
  return {
    text,
    truncated: true,
    shownBytes: Buffer.byteLength(text, 'utf8'),
    totalBytes,
    omittedFiles: omittedFiles.filter((f) => f !== ''),
    ...(partialFile ? { partialFile } : {}),
  };
}

const HUNK = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/**
 * The diff with each line's number in the new file version in front of it (blank for removed
 * lines): the model is asked for new-file line numbers, and counting them from hunk headers gave
 * a trial's reviewer lines off by two.
 */
export function numberedDiff(diff: string): string {
  let next: number | undefined;
  return diff
    .split('\n')
    .map((line) => {
      const hunk = HUNK.exec(line);
      if (hunk) {
        next = Number(hunk[1]);
        return line;
      }
      if (line.startsWith('diff --git ')) next = undefined;
      if (next === undefined || line === '') return line;
      if (line.startsWith('-')) return `${' '.repeat(6)}${line}`;
      if (line.startsWith('\\')) return `${' '.repeat(6)}${line}`;
      if (!line.startsWith('+') && !line.startsWith(' ')) return line;
      return `${String(next++).padStart(5)} ${line}`;
    })
    .join('\n');
}

function bounded(text: string, max: number, what: string): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n[${what} truncated: ${max} of ${text.length} characters shown]`;
}

/** The plan artifact's parts: the plan itself (as the coder read it) and the repository's instructions for agents. */
export function planParts(raw: string): { plan: { text: string; lang: string }; instructions: Array<{ path: string; content: string }> } {
  let stored: unknown;
  try {
    stored = JSON.parse(raw);
  } catch {
    return { plan: { text: raw, lang: '' }, instructions: [] };
  }
  const o = (stored ?? {}) as { summary?: unknown; steps?: unknown; risks?: unknown; instructions?: unknown };
  const instructions = Array.isArray(o.instructions)
    ? o.instructions.filter((i): i is { path: string; content: string } => typeof i?.path === 'string' && typeof i?.content === 'string')
    : [];
  if (typeof o.summary !== 'string' || !Array.isArray(o.steps)) return { plan: formatPlan(raw), instructions };
  const lines = [o.summary, ''];
  o.steps.forEach((s: { title?: unknown; files?: unknown; detail?: unknown }, i) => {
    const files = Array.isArray(s.files) && s.files.length ? ` (${s.files.join(', ')})` : '';
    lines.push(`${i + 1}. ${String(s.title ?? '')}${files}`);
    if (typeof s.detail === 'string' && s.detail.trim()) lines.push(`   ${s.detail.trim().replace(/\n/g, '\n   ')}`);
  });
  if (Array.isArray(o.risks) && o.risks.length) lines.push('', 'Risks:', ...o.risks.map((r) => `- ${String(r)}`));
  return { plan: { text: lines.join('\n'), lang: '' }, instructions };
}

/** What the rounds before say of the previous review when no model made it (ReviewPromptInput.earlierByChecks). */
export interface EarlierByChecks {
  /** No model has reviewed the change before this call. */
  first: boolean;
  /** The latest round a model reviewed, when one did. */
  lastModelRound?: number;
}

function earlierSection(earlier: EarlierReviewDto | undefined, byChecks: EarlierByChecks | undefined, coderSummary: boolean): string {
  if (!earlier) return '';
  const findings = earlier.findings.length
    ? earlier.findings
        .map((f) => `- ${f.file || '(whole change)'}${f.line !== undefined ? `:${f.line}` : ''} [${f.severity}${f.blocking ? ', blocking' : ''}] ${f.message}`)
        .join('\n')
    : '- (none)';
  if (byChecks) return checksOnlySection(earlier, byChecks, findings, coderSummary);
  return `# The previous review (round ${earlier.round}: ${earlier.verdict})\n\nIts findings, which this round was meant to address:\n\n${findings}\n\nCheck each against the diff: do not report again what was fixed; report what is still wrong, saying it was raised before.`;
}

/**
 * The previous round as it was: blocked by the deterministic checks, with no model review (a
 * relay trial's second-round reviewer, the first model to read the feature, was told it was
 * re-checking a review, and reviewed the round's test fix rather than the feature).
 */
function checksOnlySection(earlier: EarlierReviewDto, byChecks: EarlierByChecks, findings: string, coderSummary: boolean): string {
  const before = byChecks.first
    ? `This is the first model review of the change: review all of it (the diff is the whole change since the base), not only what this round changed${coderSummary ? ", which is all the coder's summary above describes" : ''}.`
    : byChecks.lastModelRound !== undefined
      ? `The last model review was round ${byChecks.lastModelRound}'s; the diff is the whole change since the base.`
      : 'The diff is the whole change since the base.';
  return `# The previous round (round ${earlier.round}: ${earlier.verdict}, by the deterministic checks alone)\n\nNo model reviewed round ${earlier.round}: its deterministic checks blocked it, so the model was not asked. ${before}\n\nThe checks' findings, which this round was meant to address:\n\n${findings}\n\nCheck each against the diff and the test result: do not report again what was fixed; report what is still wrong, saying it was raised before.`;
}

/** Pretty-prints a JSON plan; anything else is shown as stored. */
export function formatPlan(raw: string): { text: string; lang: string } {
  try {
    return { text: JSON.stringify(JSON.parse(raw), null, 2), lang: 'json' };
  } catch {
    return { text: raw, lang: '' };
  }
}

function instructionsText(files: ReadonlyArray<{ path: string; content: string }>): string {
  const parts = files.map((f) => `## ${f.path}\n\n${fence(f.content.trim())}`);
  return `# The repository's instructions for agents\n\nIts maintainers wrote these; a change that ignores them deserves a finding.\n\n${parts.join('\n\n')}`;
}

function checksSection(checks: CheckResult[]): string {
  // A check that did not run says so: "passed" made a reviewer believe lint and types were checked (relay trial).
  const lines = checks.map((c) => `- ${c.id}: ${c.notRun ? 'not run' : c.passed ? 'passed' : 'FAILED'} (${c.detail})`);
  for (const c of checks) {
    for (const f of c.findings)
      lines.push(`  - ${f.file || '(whole change)'}${f.line ? `:${f.line}` : ''} [${f.severity}${f.blocking ? ', blocking' : ''}] ${f.message}`);
  }
  return lines.join('\n');
}

function rulesSection(rules: ReviewRule[]): string {
  if (rules.length === 0) return 'No vault rule applies to the changed files.';
  return rules
    .map((r) => `## ${r.id}: ${r.title}\nSeverity: ${r.severity}; applies to: ${r.appliesTo.length ? r.appliesTo.join(', ') : 'every file'}\n\n${r.text}`)
    .join('\n\n');
}

/** The user message of the review call: FR, plan, test result, checks, rules, diff, round. */
export function buildReviewPrompt(input: ReviewPromptInput, limits: PromptLimits = DEFAULT_PROMPT_LIMITS): { prompt: string; diff: TruncatedDiff } {
  const { fr, tests } = input;
  const criteria = fr.acceptanceCriteria.length ? fr.acceptanceCriteria.map((c) => listItem('- ', c)).join('\n') : '(none listed)';
  const { plan, instructions } = planParts(input.plan);
  const diff = truncateDiff(input.diff, limits.diffBytes);
  const c = tests.counts;
  const diffNote = diff.truncated
    ? `\n[diff truncated: ${diff.shownBytes} of ${diff.totalBytes} bytes shown${diff.partialFile ? `; ${diff.partialFile} cut part-way` : ''}${diff.omittedFiles.length ? `; files not shown: ${diff.omittedFiles.join(', ')}` : ''}. Do not report findings on parts you did not see.]`
    : '';
  const atBase = tests.failedAtBase
    ? ` Every failing test already failed at the base, before any change, so the change did not cause it: ${baseFailureNames(tests.failedAtBase)}.`
    : '';
  const testsLine = `Passed: ${tests.passed ? 'yes' : 'no'} (${tests.format === 'unparsed' ? 'judged by the exit code: the output matched no known test runner, so there are no counts' : `${c.passed}/${c.total} passed, ${c.failed} failed, ${c.skipped} skipped`}).${atBase} Report artifact: ${tests.report.key}.`;
  const sections = [
    ...(instructions.length > 0 ? [instructionsText(instructions)] : []),
    `# Feature request ${fr.id}: ${fr.title}`,
    `Priority: ${fr.priority}. Repository: ${fr.repo} (base ${fr.base}).`,
    `## Description\n\n${bounded(bodyForPrompt(fr) || '(empty)', limits.bodyChars, 'description')}`,
    `## Acceptance criteria\n\n${criteria}`,
    `# Plan\n\n${fence(bounded(plan.text, limits.planChars, 'plan'), plan.lang)}`,
    ...(input.coderSummary
      ? [`# What the coder says it did\n\n${bounded(input.coderSummary.trim(), 5000, 'summary')}\n\nCheck it against the diff; it is a claim, not evidence.`]
      : []),
    ...(input.earlier ? [earlierSection(input.earlier, input.earlierByChecks, Boolean(input.coderSummary))] : []),
    `# Test result\n\n${testsLine}${input.testOutputTail ? `\n\nThe end of the test output:\n\n${fence(input.testOutputTail)}` : ''}`,
    `# Deterministic checks\n\nThese already ran and their findings are already reported; do not repeat them.\n\n${checksSection(input.checks)}`,
    `# Review rules\n\n${rulesSection(input.rules)}`,
    `# Diff\n\nEach line starts with its number in the new file version (none for a removed line).\n\n${fence(diff.text ? numberedDiff(diff.text) : '(empty diff)', 'diff')}${diffNote}`,
    'Answer with the JSON object described in your instructions. Use the line numbers shown (the new file version), and report findings only on lines this diff adds or changes.',
    `Round: ${input.round}`,
  ];
  return { prompt: sections.join('\n\n'), diff };
}
