import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkSuite, compareMarkdown, reportMarkdown, runSuite, ScriptedAnswers, stopActiveStacks, type SuiteReport, type Variant } from '@agency/eval';
import { defaultEvalDir, repoRoot } from '../paths.js';

export interface EvalRunOptions {
  models?: string;
  tiers?: string;
  concurrency?: string;
  answers?: string;
  vault?: string;
  out?: string;
  portBase?: string;
  timeout?: string;
  registry?: string;
  tasks?: string;
}

const list = (value?: string): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const orNone = <T>(values: T[]): Array<T | undefined> => (values.length > 0 ? values : [undefined]);

/** Every scripted answer (or the models) with every model and every tier; none given: the configuration as it is. */
export function variantsOf(models?: string, tiers?: string, answers: ScriptedAnswers[] = []): Variant[] {
  return orNone(answers).flatMap((a) =>
    orNone(list(models)).flatMap((model) =>
      orNone(list(tiers)).map((tier) => ({ ...(a ? { answers: a } : {}), ...(model ? { model } : {}), ...(tier ? { tier } : {}) })),
    ),
  );
}

function positive(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive whole number, got "${value}"`);
  return n;
}

/** `oracle`, `oracle,wrong`...: one variant each; `models` (or nothing): the configuration's models. */
function answersOf(value?: string): ScriptedAnswers[] {
  if (value === undefined || value === 'models') return [];
  const known = Object.values(ScriptedAnswers) as string[];
  for (const v of list(value))
    if (!known.includes(v)) throw new Error(`--answers must be models, or one or more of ${known.slice(0, -1).join(', ')} and ${known.at(-1)}; got "${v}"`);
  return list(value) as ScriptedAnswers[];
}

export async function evalRun(suiteDir: string, o: EvalRunOptions): Promise<number> {
  const answers = answersOf(o.answers);
  if (answers.length > 0 && o.models) throw new Error(`--answers ${answers.join(',')} replaces the models: leave --models out`);
  const root = repoRoot();
  if (!existsSync(join(root, 'dist', 'apps', 'orchestrator', 'src', 'main.js'))) throw new Error('the services are not built: run `npm run build` first');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outDir = resolve(o.out ?? join(defaultEvalDir(), `${basename(resolve(suiteDir))}-${answers.join('-') || 'models'}-${stamp}`));
  // Ctrl-C or a kill: the task stacks (services, nats-server, sandbox containers) go first.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      console.log('stopping the task stacks...');
      void stopActiveStacks().then(() => process.exit(code));
    });
  }
  const { report, json, markdown } = await runSuite({
    suiteDir,
    outDir,
    rootDir: root,
    configVault: resolve(o.vault ?? join(root, 'examples', 'vault')),
    variants: variantsOf(o.models, o.tiers, answers),
    tasks: list(o.tasks),
    concurrency: positive(o.concurrency, 1, '--concurrency'),
    portBase: positive(o.portBase ?? process.env.AGENCY_PORT_BASE, 7600, '--port-base'),
    timeoutMs: positive(o.timeout, 1800, '--timeout') * 1000,
    registry: o.registry ?? process.env.npm_config_registry,
    log: (line) => console.log(`${new Date().toISOString().slice(11, 19)}  ${line}`),
  });
  console.log(`\n${reportMarkdown(report)}`);
  console.log(`report     ${json}\n           ${markdown}`);
  return report.variants.some((v) => v.tasks.some((t) => t.outcome === 'harness-error')) ? 2 : 0;
}

export async function evalCheck(suiteDir: string, o: { out?: string; registry?: string }): Promise<number> {
  const outDir = resolve(o.out ?? join(defaultEvalDir(), `${basename(resolve(suiteDir))}-check`));
  const checks = await checkSuite({ suiteDir, outDir, registry: o.registry ?? process.env.npm_config_registry, log: (line) => console.log(line) });
  const bad = checks.filter((c) => c.problem);
  console.log(`\n${checks.length - bad.length} of ${checks.length} task(s) fail at the base and pass with their reference solution`);
  return bad.length > 0 ? 1 : 0;
}

/** A report.json, or a suite run's folder holding one. */
export function readReport(path: string): SuiteReport {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'report.json') : path;
  if (!existsSync(file)) throw new Error(`no report at ${file}`);
  return JSON.parse(readFileSync(file, 'utf8')) as SuiteReport;
}

export function evalCompare(a: string, b: string): number {
  console.log(compareMarkdown(readReport(a), readReport(b), [basename(resolve(a)), basename(resolve(b))]));
  return 0;
}
