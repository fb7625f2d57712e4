import { asArray, asObject, asString, asStringArray } from '../prompts/shape.js';

export interface PlanStep {
  title: string;
  files: string[];
  detail: string;
}

/** What the planner answers, and what plan.json holds (besides `meta`). */
export interface Plan {
  summary: string;
  steps: PlanStep[];
  risks: string[];
}

/** A plan as read from the model: what was read in another shape than asked (`steps[0].files given as a string`), for plan.json's meta. */
export type ParsedPlan = Plan & { readAs?: string[] };

/** The plan's JSON shape, as a repair turn repeats it. */
export const PLAN_SHAPE = '{"summary": "...", "steps": [{"title": "...", "files": ["path"], "detail": "..."}], "risks": ["..."]}';

export const PLAN_LIMITS = { summary: 5000, steps: 50, title: 300, detail: 10_000, files: 100, risks: 50 } as const;

function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

/**
 * A list given as one string, which has one reading (a relay trial's planner paid a repair turn,
 * the whole conversation again, for `"files": "lib/option.js"`): paths split at commas and
 * whitespace, a risk kept whole (its text has commas of its own). Noted in `readAs`.
 */
function listOf(value: unknown, where: string, split: boolean, readAs: string[]): unknown {
  if (typeof value !== 'string') return value;
  readAs.push(`${where} given as a string ${shown(value)}`);
  return split ? value.split(/[\s,]+/).filter(Boolean) : value.trim() ? [value] : [];
}

/**
 * Checks the planner's answer: `{summary, steps: [{title, files[], detail}], risks[]}`, at least
 * one step. A missing `risks` (or a step's missing `files`) reads as an empty list, and one given
 * as a string as a list (said in `readAs`); everything else missing or of the wrong type is an
 * error naming the field.
 */
export function parsePlan(value: unknown): ParsedPlan {
  const o = asObject(value, 'the answer');
  const readAs: string[] = [];
  const summary = asString(o.summary, 'summary', { min: 1, max: PLAN_LIMITS.summary }).trim();
  const steps = asArray(o.steps, 'steps', { min: 1, max: PLAN_LIMITS.steps }).map((raw, i) => {
    const s = asObject(raw, `steps[${i}]`);
    const where = `steps[${i}].files`;
    return {
      title: asString(s.title, `steps[${i}].title`, { min: 1, max: PLAN_LIMITS.title }).trim(),
      files: s.files === undefined ? [] : asStringArray(listOf(s.files, where, true, readAs), where, { max: PLAN_LIMITS.files, itemMax: 1000 }),
      detail: s.detail === undefined ? '' : asString(s.detail, `steps[${i}].detail`, { max: PLAN_LIMITS.detail }),
    };
  });
  const risks =
    o.risks === undefined || o.risks === null ? [] : asStringArray(listOf(o.risks, 'risks', false, readAs), 'risks', { max: PLAN_LIMITS.risks, itemMax: 2000 });
  return { summary, steps, risks, ...(readAs.length > 0 ? { readAs } : {}) };
}

/** Every file the plan names, once, in order. */
export function plannedFiles(plan: Plan): string[] {
  return [...new Set(plan.steps.flatMap((s) => s.files))];
}

/** The files a planner with reading tools read (plan.json's `meta.readFiles`); none in plans made without. */
export function plannerReadFiles(storedPlan: unknown): string[] {
  const list = (storedPlan as { meta?: { readFiles?: unknown } } | null)?.meta?.readFiles;
  return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string').slice(0, 100) : [];
}
