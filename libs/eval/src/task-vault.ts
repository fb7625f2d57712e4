import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CONFIG_FILE, FR_FOLDERS, loadAgencyConfig } from '@agency/vault';
import type { Variant } from './report.js';
import { ScriptedAnswers, scriptedLlm, scriptFor } from './scripted-answers.js';
import type { LoadedTask } from './suite.loader.js';

/** The FR id every task runs as: each task has a stack, a vault and a forge of its own. */
export const EVAL_FR_ID = 'FR-001';

export interface TaskVaultOptions {
  /** The agency configuration under evaluation: its agents, review rules, tiers and llm section. */
  configVault: string;
  vault: string;
  forgeRoot: string;
  repoName: string;
  variant: Variant;
  answers?: ScriptedAnswers;
}

function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'task'
  );
}

/** Tiers as the variant wants them: one tier (forced) or all, a model for every role, no human gates. */
function tiersFor(configVault: string, variant: Variant): Record<string, unknown>[] {
  const config = loadAgencyConfig(configVault);
  const tiers = variant.tier ? config.tiers.filter((t) => t.name === variant.tier) : config.tiers;
  if (tiers.length === 0)
    throw new Error(`tier "${variant.tier}" is not in ${join(configVault, CONFIG_FILE)} (it has ${config.tiers.map((t) => t.name).join(', ')})`);
  return tiers.map((t) => ({
    ...JSON.parse(JSON.stringify(t)),
    ...(variant.tier ? { max_score: 100 } : {}),
    ...(variant.model ? { models: { planner: variant.model, coder: variant.model, reviewer: variant.model } } : {}),
    // The harness measures the way to a PR: no person approves a plan or merges.
    plan_approval: false,
    auto_merge: false,
  }));
}

/**
 * Writes a task's vault: the configuration vault's agents, rules and 40_config (so its scripts,
 * cassettes and prices resolve as they do there), an agency.yaml with the task's repository on the
 * task's own local forge, and the FR in 03_planned. Scripted answers replace the llm section.
 */
export function writeTaskVault(task: LoadedTask, o: TaskVaultOptions): string {
  for (const folder of Object.values(FR_FOLDERS)) mkdirSync(join(o.vault, folder), { recursive: true });
  for (const dir of ['20_agents', '30_review_rules', '40_config']) {
    if (existsSync(join(o.configVault, dir))) cpSync(join(o.configVault, dir), join(o.vault, dir), { recursive: true });
  }
  const source = loadAgencyConfig(o.configVault);
  let llm = source.llm;
  if (o.answers) {
    writeFileSync(
      join(o.vault, '40_config', 'eval-script.yaml'),
      stringify(scriptFor(o.answers, EVAL_FR_ID, task.spec.title, task.referencePatch), { lineWidth: 0 }),
    );
    llm = scriptedLlm('eval-script.yaml');
  }
  const variant = o.answers ? { tier: o.variant.tier } : o.variant;
  const config = {
    forges: { local: { root: o.forgeRoot } },
    repos: { [o.repoName]: { forge: 'local', base: 'main', test: task.spec.test, ...(task.spec.setup ? { setup: task.spec.setup } : {}) } },
    defaults: { repo: o.repoName },
    tiers: tiersFor(o.configVault, variant),
    approval: { merge: 'human', auto_merge_min_confidence: source.approval.auto_merge_min_confidence },
    concurrency: { global: 2, per_repo: 1 },
    routing: JSON.parse(JSON.stringify(source.routing)) as Record<string, unknown>,
    ...(llm ? { llm } : {}),
  };
  const raw = loadRawReview(o.configVault);
  writeFileSync(join(o.vault, CONFIG_FILE), stringify(raw ? { ...config, review: raw } : config, { lineWidth: 0 }));
  const fr = [
    '---',
    `id: ${EVAL_FR_ID}`,
    `title: ${JSON.stringify(task.spec.title)}`,
    'priority: medium',
    `repo: ${o.repoName}`,
    '---',
    '',
    task.frBody,
    '',
  ].join('\n');
  const file = join(o.vault, FR_FOLDERS.planned, `${EVAL_FR_ID}-${slug(task.spec.title)}.md`);
  writeFileSync(file, fr);
  return file;
}

/** The configuration's `review:` section as written (AgencyConfig does not model it). */
function loadRawReview(configVault: string): unknown {
  return (parse(readFileSync(join(configVault, CONFIG_FILE), 'utf8')) as { review?: unknown } | null)?.review;
}
