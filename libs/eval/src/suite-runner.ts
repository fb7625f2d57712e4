import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ContainerRunner } from './container.runner.js';
import { EnvironmentShare } from './environment-share.js';
import { FailureCode } from './failure-code.js';
import { HiddenTests, SetupFailedError } from './hidden-tests.js';
import { reportMarkdown, suiteFigures, TaskOutcome, variantLabel, type HiddenTestResult, type SuiteReport, type TaskResult, type Variant } from './report.js';
import { materializeRepo } from './repo-source.js';
import type { ScriptedAnswers } from './scripted-answers.js';
import { loadSuite, type LoadedSuite, type LoadedTask } from './suite.loader.js';
import { runTask } from './task-runner.js';

export interface SuiteRunOptions {
  suiteDir: string;
  /** Reports, base repositories and every task run's folder. */
  outDir: string;
  /** The agency checkout (dist/ holds the built services). */
  rootDir: string;
  configVault: string;
  variants: Variant[];
  /** Scripted answers of every variant that names none. */
  answers?: ScriptedAnswers;
  /** Only these tasks of the suite (default: the suite's own list). */
  tasks?: string[];
  concurrency: number;
  /** Task slot n uses ports portBase + 10n ... + 7. */
  portBase: number;
  timeoutMs: number;
  registry?: string;
  /**
   * Downloaded npm tarballs, the hidden tests' installs at each base and the agent-runners'
   * environments (default <outDir>/../cache): kept, later runs reuse them.
   */
  cacheDir?: string;
  image?: string;
  env?: Record<string, string>;
  log?: (line: string) => void;
}

/** A task ready to run: its base repository, or why it cannot run. */
interface Prepared {
  task: LoadedTask;
  baseRepo: string;
  refused?: TaskResult;
}

function refusal(task: LoadedTask, outcome: TaskOutcome, failure: string, hidden?: HiddenTestResult, code?: FailureCode): TaskResult {
  return {
    task: task.name,
    title: task.spec.title,
    outcome,
    reachedPr: false,
    resolved: false,
    ...(code ? { failureCode: code } : {}),
    failure,
    ...(hidden ? { hidden } : {}),
    wallMs: 0,
  };
}

/** A task the harness could not prepare or run: its setup failed at the base, or something else did. */
function harnessError(task: LoadedTask, e: unknown): TaskResult {
  const code = e instanceof SetupFailedError ? FailureCode.SetupFailed : FailureCode.HarnessError;
  return refusal(task, TaskOutcome.HarnessError, (e as Error).message, undefined, code);
}

/**
 * The base of every task, its dependencies, and the rule that a task whose hidden tests pass at
 * the base is invalid: it could not tell a solution from no work at all.
 */
async function prepareTask(task: LoadedTask, o: SuiteRunOptions & { cacheDir: string }, hidden: HiddenTests): Promise<Prepared> {
  const baseRepo = join(o.outDir, 'repos', task.name);
  try {
    const t0 = Date.now();
    await materializeRepo(task.source, baseRepo, { registry: o.registry, cacheDir: o.cacheDir });
    const t1 = Date.now();
    await hidden.installDeps(task, baseRepo);
    const t2 = Date.now();
    const atBase = await hidden.run(task, baseRepo, 'main', 'base');
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    o.log?.(`${task.name}: prepared (repository ${secs(t1 - t0)}, hidden tests' install ${secs(t2 - t1)}, check at the base ${secs(Date.now() - t2)})`);
    if (atBase.passed) {
      o.log?.(`${task.name}: INVALID, its hidden tests pass at the base`);
      return {
        task,
        baseRepo,
        refused: refusal(task, TaskOutcome.Invalid, 'the hidden tests pass at the base commit: the task cannot tell a solution from no change', atBase),
      };
    }
    return { task, baseRepo };
  } catch (e) {
    o.log?.(`${task.name}: cannot be prepared: ${(e as Error).message}`);
    return { task, baseRepo, refused: harnessError(task, e) };
  }
}

/** Only the named tasks of a suite, in the order named; an unknown name is an error before anything runs. */
export function selectTasks(suite: LoadedSuite, names?: string[]): LoadedSuite {
  if (!names || names.length === 0) return suite;
  const unknown = names.filter((n) => !suite.tasks.some((t) => t.name === n));
  if (unknown.length > 0)
    throw new Error(`no task ${unknown.join(', ')} in suite ${suite.manifest.name} (tasks: ${suite.tasks.map((t) => t.name).join(', ')})`);
  return { ...suite, tasks: names.map((n) => suite.tasks.find((t) => t.name === n)!) };
}

/** The report's `answers`: the variants' scripted answers, or `models`. */
function answersOfRun(variants: Variant[], answers?: ScriptedAnswers): string {
  const all = [...new Set(variants.map((v) => v.answers ?? answers ?? 'models'))];
  return all.join(', ');
}

/** Runs `work` items, at most `limit` at once; each gets a slot number (its ports) that no running item holds. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, slot: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async (_, slot) => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, slot);
    }
  });
  await Promise.all(lanes);
  return results;
}

function machine(): string {
  const c = cpus();
  return `${hostname()}, ${c.length} × ${c[0]?.model ?? 'cpu'}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

/**
 * `agency eval run`: every valid task of the suite on a stack of its own, once per variant (model,
 * tier), at most `concurrency` stacks at once; writes report.json and report.md into outDir.
 */
export async function runSuite(o: SuiteRunOptions): Promise<{ report: SuiteReport; json: string; markdown: string }> {
  const suite = selectTasks(loadSuite(o.suiteDir), o.tasks);
  const outDir = resolve(o.outDir);
  mkdirSync(outDir, { recursive: true });
  const containers = new ContainerRunner(o.image);
  containers.check();
  const startedAt = new Date().toISOString();
  const cacheDir = o.cacheDir ?? join(outDir, '..', 'cache');
  const hidden = new HiddenTests(containers, join(outDir, 'hidden'), cacheDir);
  const environments = new EnvironmentShare(join(cacheDir, 'environments'));
  // Mostly downloads and installs in containers: as many at once as there will be stacks.
  const prepared = await pool(suite.tasks, o.concurrency, (task) => prepareTask(task, { ...o, outDir, cacheDir }, hidden));
  const items = o.variants.flatMap((variant, v) => prepared.map((p) => ({ variant, v, p })));
  const results = await pool(items, o.concurrency, async ({ variant, v, p }, slot) => {
    if (p.refused) return p.refused;
    o.log?.(`${p.task.name}: running (${variantLabel(variant)})`);
    try {
      const r = await runTask(p.task, {
        rootDir: o.rootDir,
        configVault: o.configVault,
        dir: join(outDir, 'runs', `v${v}`, p.task.name),
        portBase: o.portBase + slot * 10,
        variant,
        answers: variant.answers ?? o.answers,
        baseRepo: p.baseRepo,
        hidden,
        timeoutMs: o.timeoutMs,
        env: o.env,
        environments,
        log: o.log,
      });
      o.log?.(`${p.task.name}: ${r.outcome}${r.failureCode ? ` (${r.failureCode})` : ''}, $${(r.figures?.costUsd ?? 0).toFixed(4)}`);
      return r;
    } catch (e) {
      o.log?.(`${p.task.name}: harness error: ${(e as Error).message}`);
      return harnessError(p.task, e);
    }
  });
  const report: SuiteReport = {
    suite: suite.manifest.name,
    startedAt,
    finishedAt: new Date().toISOString(),
    answers: answersOfRun(o.variants, o.answers),
    machine: machine(),
    variants: o.variants.map((variant, v) => {
      const tasks = results.slice(v * prepared.length, (v + 1) * prepared.length);
      return { variant, label: variantLabel(variant), figures: suiteFigures(tasks), tasks };
    }),
  };
  const json = join(outDir, 'report.json');
  const markdown = join(outDir, 'report.md');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdown, reportMarkdown(report));
  return { report, json, markdown };
}

export interface TaskCheck {
  task: string;
  /** The hidden tests fail at the base (they must). */
  failsAtBase: boolean;
  /** The hidden tests pass with the reference solution applied (they must). */
  passesWithReference: boolean;
  problem?: string;
}

/** `agency eval check`: every task's hidden tests fail at the base and pass with its reference solution. */
export async function checkSuite(o: Pick<SuiteRunOptions, 'suiteDir' | 'outDir' | 'registry' | 'cacheDir' | 'image' | 'log'>): Promise<TaskCheck[]> {
  const suite = loadSuite(o.suiteDir);
  const outDir = resolve(o.outDir);
  const containers = new ContainerRunner(o.image);
  containers.check();
  const hidden = new HiddenTests(containers, join(outDir, 'hidden'), o.cacheDir ?? join(outDir, '..', 'cache'));
  const checks: TaskCheck[] = [];
  for (const task of suite.tasks) {
    const baseRepo = join(outDir, 'repos', task.name);
    try {
      await materializeRepo(task.source, baseRepo, { registry: o.registry, cacheDir: o.cacheDir ?? join(outDir, '..', 'cache') });
      await hidden.installDeps(task, baseRepo);
      const base = await hidden.run(task, baseRepo, 'main', 'base');
      const reference = await hidden.run(task, baseRepo, 'main', 'reference', task.referencePatch);
      const problem = [
        base.passed ? `passes at the base:\n${base.outputTail}` : '',
        reference.passed ? '' : `fails with the reference solution:\n${reference.outputTail}`,
      ]
        .filter(Boolean)
        .join('\n');
      checks.push({ task: task.name, failsAtBase: !base.passed, passesWithReference: reference.passed, ...(problem ? { problem } : {}) });
    } catch (e) {
      checks.push({ task: task.name, failsAtBase: false, passesWithReference: false, problem: (e as Error).message });
    }
    const c = checks.at(-1)!;
    o.log?.(`${task.name}: ${c.problem ? `PROBLEM ${c.problem}` : 'ok (fails at the base, passes with the reference)'}`);
  }
  return checks;
}
