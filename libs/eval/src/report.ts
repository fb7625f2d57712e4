import type { EnvironmentUse } from './environment-share.js';
import type { FailureCode } from './failure-code.js';
import type { RoleUsage, RunFigures } from './run-metrics.js';
import type { ScriptedAnswers } from './scripted-answers.js';

/** Why a task has no run result; `invalid`: its hidden tests already pass at the base. */
export enum TaskOutcome {
  Resolved = 'resolved',
  Unresolved = 'unresolved',
  NoPr = 'no-pr',
  Invalid = 'invalid',
  HarnessError = 'harness-error',
}

export interface HiddenTestResult {
  passed: boolean;
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  /** The output's last lines, for a reader to see why. */
  outputTail: string;
}

export interface TaskResult {
  task: string;
  title: string;
  outcome: TaskOutcome;
  reachedPr: boolean;
  resolved: boolean;
  /** The saga's final state (`awaiting-merge`, `failed`...). */
  state?: string;
  /** The tier the run had (the variant's, when it forces one). */
  tier?: string;
  prUrl?: string;
  draft?: boolean;
  /** Why the run failed or never ran (the harness's codes: the same across pipeline versions). */
  failureCode?: FailureCode;
  /** The pipeline's own code of that failure (`EMPTY_CHANGE`, `LLM_ANSWER_INVALID`...). */
  pipelineCode?: string;
  failure?: string;
  /** The orchestrator's own cost of the run (it adds each usage event once). */
  sagaCostUsd?: number;
  figures?: RunFigures;
  hidden?: HiddenTestResult;
  /** The agent-runner's environments shared across the run's stacks: given, restored, newly stored. */
  environments?: EnvironmentUse;
  /** The harness's own share of wallMs (the pipeline's is figures; the hidden tests' is hidden.durationMs). */
  harness?: HarnessTimes;
  wallMs: number;
}

export interface HarnessTimes {
  /** Starting the task's stack: nats-server and the seven services, until each is ready. */
  stackStartMs: number;
  /** Stopping it (its processes and sandbox containers). */
  stackStopMs: number;
}

export interface Variant {
  /** A model alias every role uses; absent: the tiers' own models. */
  model?: string;
  /** The only tier the FRs run on; absent: the router picks per FR. */
  tier?: string;
  /** Scripted answers instead of models for this variant (the run's own `answers` otherwise). */
  answers?: ScriptedAnswers;
}

export interface SuiteFigures {
  tasks: number;
  valid: number;
  reachedPr: number;
  resolved: number;
  /** resolved / valid tasks. */
  resolvedRate: number;
  costUsd: number;
  costPerTaskUsd: number;
  /** Absent when nothing was resolved. */
  costPerResolvedUsd?: number;
  timeToPrMedianMs?: number;
  timeToPrP90Ms?: number;
  usage: Record<string, RoleUsage>;
}

export interface VariantReport {
  variant: Variant;
  label: string;
  figures: SuiteFigures;
  tasks: TaskResult[];
}

export interface SuiteReport {
  suite: string;
  startedAt: string;
  finishedAt: string;
  /** `oracle` / `wrong`: the scripted answers; `models`: the configuration's own models. */
  answers: string;
  machine: string;
  variants: VariantReport[];
}

export function variantLabel(v: Variant): string {
  return (
    [v.answers ? `answers ${v.answers}` : undefined, v.model ? `model ${v.model}` : undefined, v.tier ? `tier ${v.tier}` : undefined]
      .filter(Boolean)
      .join(', ') || 'as configured'
  );
}

/** The q-quantile by nearest rank (q in 0..1) of unsorted numbers. */
export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function sumUsage(parts: Array<Record<string, RoleUsage>>): Record<string, RoleUsage> {
  const out: Record<string, RoleUsage> = {};
  for (const part of parts) {
    for (const [role, u] of Object.entries(part)) {
      const t = (out[role] ??= { calls: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0 });
      t.calls += u.calls;
      t.inputTokens += u.inputTokens;
      t.cachedInputTokens += u.cachedInputTokens;
      t.outputTokens += u.outputTokens;
      t.costUsd += u.costUsd;
    }
  }
  return out;
}

export function suiteFigures(tasks: TaskResult[]): SuiteFigures {
  const valid = tasks.filter((t) => t.outcome !== TaskOutcome.Invalid);
  const resolved = valid.filter((t) => t.resolved).length;
  const costUsd = valid.reduce((s, t) => s + (t.figures?.costUsd ?? 0), 0);
  const toPr = valid.flatMap((t) => (t.reachedPr && t.figures?.timeToPrMs !== undefined ? [t.figures.timeToPrMs] : []));
  return {
    tasks: tasks.length,
    valid: valid.length,
    reachedPr: valid.filter((t) => t.reachedPr).length,
    resolved,
    resolvedRate: valid.length > 0 ? resolved / valid.length : 0,
    costUsd,
    costPerTaskUsd: valid.length > 0 ? costUsd / valid.length : 0,
    ...(resolved > 0 ? { costPerResolvedUsd: costUsd / resolved } : {}),
    ...(toPr.length > 0 ? { timeToPrMedianMs: quantile(toPr, 0.5), timeToPrP90Ms: quantile(toPr, 0.9) } : {}),
    usage: sumUsage(valid.map((t) => t.figures?.usage ?? {})),
  };
}

const usd = (n: number | undefined) => (n === undefined ? '–' : `$${n.toFixed(4)}`);
const secs = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
const pct = (n: number) => `${(n * 100).toFixed(0)}%`;
const tokens = (u: Record<string, RoleUsage> | undefined) =>
  Object.entries(u ?? {})
    .map(([role, x]) => `${role} ${x.calls}× ${x.inputTokens}/${x.cachedInputTokens}/${x.outputTokens}`)
    .join('; ') || '–';

function taskRow(t: TaskResult): string {
  const tests = t.figures?.prTests
    ? `${t.figures.prTests.passed ? 'pass' : 'fail'}${t.figures.prTests.total !== undefined ? ` ${t.figures.prTests.total - (t.figures.prTests.failed ?? 0)}/${t.figures.prTests.total}` : ''}`
    : '–';
  const steps = (t.figures?.steps ?? []).map((s) => `${s.step} ${secs(s.ms)}`).join(', ') || '–';
  const cells = [
    t.task,
    t.outcome,
    t.reachedPr ? (t.draft ? 'draft' : 'yes') : 'no',
    t.resolved ? 'yes' : 'no',
    tests,
    String(t.figures?.reviewRounds ?? '–'),
    tokens(t.figures?.usage),
    usd(t.figures?.costUsd),
    secs(t.figures?.timeToPrMs),
    steps,
    t.failureCode ? `${t.failureCode}${t.pipelineCode && t.pipelineCode !== t.failureCode ? ` (${t.pipelineCode})` : ''}` : '',
  ];
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** One task in every variant, a column each: outcome, cost and time to PR. */
function sideBySide(variants: VariantReport[]): string[] {
  const lines = ['', '## Tasks side by side', '', `| task | ${variants.map((v) => v.label).join(' | ')} |`, `|---|${variants.map(() => '---|').join('')}`];
  const names = [...new Set(variants.flatMap((v) => v.tasks.map((t) => t.task)))];
  for (const name of names) {
    const cells = variants.map((v) => {
      const t = v.tasks.find((x) => x.task === name);
      return t ? `${t.outcome}${t.failureCode ? ` ${t.failureCode}` : ''}, ${usd(t.figures?.costUsd)}, ${secs(t.figures?.timeToPrMs)}` : '–';
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  return lines;
}

/** The report as markdown: the suite's figures per variant, the tasks side by side (several variants), then one row per task. */
export function reportMarkdown(r: SuiteReport): string {
  const lines = [`# Eval: ${r.suite} (${r.answers})`, '', `${r.startedAt} to ${r.finishedAt} on ${r.machine}`, ''];
  lines.push(
    '| variant | resolved | rate | reached PR | valid/tasks | cost | per task | per resolved | time to PR (median / p90) |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const v of r.variants) {
    const f = v.figures;
    lines.push(
      `| ${v.label} | ${f.resolved} | ${pct(f.resolvedRate)} | ${f.reachedPr} | ${f.valid}/${f.tasks} | ${usd(f.costUsd)} | ${usd(f.costPerTaskUsd)} | ${usd(f.costPerResolvedUsd)} | ${secs(f.timeToPrMedianMs)} / ${secs(f.timeToPrP90Ms)} |`,
    );
  }
  if (r.variants.length > 1) lines.push(...sideBySide(r.variants));
  for (const v of r.variants) {
    lines.push('', `## ${v.label}`, '', `Tokens per role (calls× input/cached/output): ${tokens(v.figures.usage)}`, '');
    lines.push(
      '| task | outcome | PR | resolved | PR tests | review rounds | tokens (calls× in/cached/out) | cost | time to PR | steps | failure |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const t of v.tasks) lines.push(taskRow(t));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Two reports side by side: per variant (paired by position: the same --models/--tiers give the
 * same order) and task, A's figures against B's.
 */
export function compareMarkdown(a: SuiteReport, b: SuiteReport, names: [string, string] = ['A', 'B']): string {
  const [na, nb] = names;
  const lines = [`# Eval compare: ${na} (${a.suite}, ${a.answers}, ${a.startedAt}) vs ${nb} (${b.suite}, ${b.answers}, ${b.startedAt})`, ''];
  lines.push(
    `| variant | resolved ${na} | resolved ${nb} | cost/task ${na} | cost/task ${nb} | cost/resolved ${na} | cost/resolved ${nb} | median to PR ${na} | median to PR ${nb} |`,
    '|---|---|---|---|---|---|---|---|---|',
  );
  const pairs = Math.max(a.variants.length, b.variants.length);
  const labelOf = (i: number) => {
    const va = a.variants[i];
    const vb = b.variants[i];
    return va && vb && va.label !== vb.label ? `${va.label} / ${vb.label}` : (va ?? vb)!.label;
  };
  for (let i = 0; i < pairs; i++) {
    const va = a.variants[i];
    const vb = b.variants[i];
    const rate = (v?: VariantReport) => (v ? `${v.figures.resolved}/${v.figures.valid} (${pct(v.figures.resolvedRate)})` : '–');
    lines.push(
      `| ${labelOf(i)} | ${rate(va)} | ${rate(vb)} | ${usd(va?.figures.costPerTaskUsd)} | ${usd(vb?.figures.costPerTaskUsd)} | ${usd(va?.figures.costPerResolvedUsd)} | ${usd(vb?.figures.costPerResolvedUsd)} | ${secs(va?.figures.timeToPrMedianMs)} | ${secs(vb?.figures.timeToPrMedianMs)} |`,
    );
  }
  // Several variants: a column names each row's; one: the table as it always was.
  const several = pairs > 1;
  lines.push('', `| task | ${several ? 'variant | ' : ''}${na} | ${nb} | cost ${na} | cost ${nb} |`, `|---|${several ? '---|' : ''}---|---|---|---|`);
  for (let i = 0; i < pairs; i++) {
    const va = a.variants[i];
    const vb = b.variants[i];
    const tasks = [...new Set([...(va?.tasks ?? []), ...(vb?.tasks ?? [])].map((t) => t.task))];
    for (const task of tasks) {
      const ta = va?.tasks.find((t) => t.task === task);
      const tb = vb?.tasks.find((t) => t.task === task);
      lines.push(
        `| ${task} | ${several ? `${labelOf(i)} | ` : ''}${ta?.outcome ?? '–'} | ${tb?.outcome ?? '–'} | ${usd(ta?.figures?.costUsd)} | ${usd(tb?.figures?.costUsd)} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
