import { join } from 'node:path';
import { DeliverPolicy } from '@nats-io/jetstream';
import { sagaStage, STREAMS, type SagaList, type SagaSummary } from '@agency/contracts';
import { BusConnection } from '@agency/messaging';
import { LocalStack } from '@agency/stack';
import { runFailure } from './failure-code.js';
import type { EnvironmentShare, EnvironmentUse } from './environment-share.js';
import type { HiddenTests } from './hidden-tests.js';
import { TaskOutcome, type HarnessTimes, type TaskResult, type Variant } from './report.js';
import { seedForge } from './repo-source.js';
import { runFigures, type RunEvent } from './run-metrics.js';
import type { ScriptedAnswers } from './scripted-answers.js';
import type { LoadedTask } from './suite.loader.js';
import { EVAL_FR_ID, writeTaskVault } from './task-vault.js';

/** Stacks running now: a harness told to stop (SIGINT, SIGTERM) stops them before it exits. */
const activeStacks = new Set<LocalStack>();

/** Stops every stack a task is running on (each stop removes its processes and sandbox containers). */
export async function stopActiveStacks(): Promise<void> {
  await Promise.all([...activeStacks].map((s) => s.stop().catch(() => undefined)));
}

/** Saga states where a run waits for nobody but a person, or has ended. */

export interface TaskRunOptions {
  rootDir: string;
  configVault: string;
  /** This run's own folder: vault, forge, run directory (NATS store, logs, work dirs). */
  dir: string;
  portBase: number;
  variant: Variant;
  answers?: ScriptedAnswers;
  /** The task's base repository (main = the base commit). */
  baseRepo: string;
  hidden: HiddenTests;
  timeoutMs: number;
  /** Added to every service's environment. */
  env?: Record<string, string>;
  /** The agent-runner's environment cache shared with the suite's other stacks and later runs. */
  environments?: EnvironmentShare;
  log?: (line: string) => void;
}

/** Every event of the stack's audit stream, read as its admin (the stack's own nats-server). */
async function readEvents(stack: LocalStack): Promise<RunEvent[]> {
  const admin = stack.natsCredentials('admin');
  const bus = await BusConnection.connect({ servers: stack.natsUrl, name: 'agency-eval', ...(admin ? { user: admin.user, password: admin.password } : {}) });
  try {
    const consumer = await bus.js.consumers.get(STREAMS.events.name, { deliver_policy: DeliverPolicy.All });
    let remaining = (await consumer.info(true)).num_pending;
    const events: RunEvent[] = [];
    if (remaining === 0) return events;
    const messages = await consumer.consume();
    for await (const m of messages) {
      remaining -= 1;
      events.push(m.json<RunEvent>());
      if (remaining <= 0) break;
    }
    return events;
  } finally {
    await bus.close();
  }
}

async function sagaOf(stack: LocalStack): Promise<SagaSummary | undefined> {
  const res = await fetch(`${stack.url('orchestrator')}/sagas`, { signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as SagaList).sagas.find((s) => s.frId === EVAL_FR_ID);
}

async function waitSettled(stack: LocalStack, timeoutMs: number): Promise<SagaSummary | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: SagaSummary | undefined;
  while (Date.now() < deadline) {
    last = (await sagaOf(stack).catch(() => undefined)) ?? last;
    if (last && sagaStage(last.state) !== 'running') return last;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return undefined;
}

/**
 * The saga once the orchestrator counted every usage event (it rounds its total to micro-dollars
 * per call, hence the tolerance); the last one read if that does not happen within 15 s (the
 * report then shows the difference).
 */
async function sagaCounting(stack: LocalStack, settled: SagaSummary, usageUsd: number): Promise<SagaSummary> {
  const deadline = Date.now() + 15_000;
  let last = settled;
  for (;;) {
    if (Math.abs(last.costUsd - usageUsd) < 1e-5) return last;
    if (Date.now() >= deadline) return last;
    await new Promise((r) => setTimeout(r, 200));
    last = (await sagaOf(stack).catch(() => undefined)) ?? last;
  }
}

/** The PR's branch and draft flag, from the local forge's record. */
async function prRecord(stack: LocalStack, prUrl: string): Promise<{ branch: string; draft: boolean } | undefined> {
  const m = prUrl.match(/^local:\/\/(.+)\/pulls\/(\d+)$/);
  if (!m) return undefined;
  const res = await fetch(`${stack.url('git-service')}/forge/local/repos/${m[1]}/pulls/${m[2]}`, { signal: AbortSignal.timeout(10_000) });
  return res.ok ? ((await res.json()) as { branch: string; draft: boolean }) : undefined;
}

/**
 * One task on a stack of its own (own NATS, ports, vault, forge and run directory): the FR goes
 * in, the real pipeline runs until the saga settles (a PR, a failure, or the time limit), then the
 * audit stream gives the figures and the hidden tests run on the PR branch in a container.
 */
export async function runTask(task: LoadedTask, o: TaskRunOptions): Promise<TaskResult> {
  const started = Date.now();
  const repoName = `eval/${task.name}`;
  const forgeRoot = join(o.dir, 'forge');
  const vault = join(o.dir, 'vault');
  seedForge(o.baseRepo, join(forgeRoot, `${repoName}.git`));
  writeTaskVault(task, { configVault: o.configVault, vault, forgeRoot, repoName, variant: o.variant, answers: o.answers });
  const stack = new LocalStack({
    runDir: join(o.dir, 'run'),
    vaultPath: vault,
    rootDir: o.rootDir,
    portBase: o.portBase,
    env: { SCAN_INTERVAL_MS: '1000', LOG_LEVEL: 'info', ...o.env },
  });
  let saga: SagaSummary | undefined;
  let events: RunEvent[] = [];
  let pr: { branch: string; draft: boolean } | undefined;
  const runnerWorkDir = stack.envFor('agent-runner').WORK_DIR!;
  const seeded = o.environments?.seed(runnerWorkDir);
  let environments: EnvironmentUse | undefined;
  const harness: HarnessTimes = { stackStartMs: 0, stackStopMs: 0 };
  activeStacks.add(stack);
  try {
    const starting = Date.now();
    await stack.start();
    harness.stackStartMs = Date.now() - starting;
    o.log?.(`${task.name}: stack up on ports ${o.portBase}-${o.portBase + 7}`);
    saga = await waitSettled(stack, o.timeoutMs);
    if (!saga) {
      o.log?.(`${task.name}: no result after ${Math.round(o.timeoutMs / 1000)} s, cancelling`);
      await fetch(`${stack.url('orchestrator')}/sagas/${EVAL_FR_ID}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'eval', reason: 'eval time limit' }),
      }).catch(() => undefined);
    }
    // The gateway publishes usage off the request's path, in batches: a step's last call may not
    // be in the stream when the saga settles (a failed-task medium test missed a coder call).
    // Stopping the gateway flushes what it holds (a clean shutdown never drops usage); then the
    // orchestrator is given the time to count it, so both totals hold every call.
    await stack.stopService('llm-gateway');
    events = await readEvents(stack);
    if (saga) saga = await sagaCounting(stack, saga, runFigures(events, saga.sagaId).costUsd);
    if (saga?.prUrl) pr = await prRecord(stack, saga.prUrl);
  } finally {
    const stopping = Date.now();
    await stack.stop();
    harness.stackStopMs = Date.now() - stopping;
    activeStacks.delete(stack);
    if (seeded) environments = o.environments?.harvest(runnerWorkDir, seeded);
  }
  const sagaId = saga?.sagaId ?? events.find((e) => e.type === 'orchestrator.fr-state-changed')?.sagaId ?? '';
  const figures = runFigures(events, sagaId);
  const reachedPr = pr !== undefined;
  const hidden = pr ? await o.hidden.run(task, join(forgeRoot, `${repoName}.git`), pr.branch, `pr-${o.portBase}`) : undefined;
  const resolved = hidden?.passed === true;
  const failed = runFailure(saga, figures.stepFailures);
  return {
    task: task.name,
    title: task.spec.title,
    outcome: resolved ? TaskOutcome.Resolved : reachedPr ? TaskOutcome.Unresolved : TaskOutcome.NoPr,
    reachedPr,
    resolved,
    ...(saga ? { state: saga.state, sagaCostUsd: saga.costUsd } : {}),
    ...(saga?.tier ? { tier: saga.tier } : {}),
    ...(saga?.prUrl ? { prUrl: saga.prUrl } : {}),
    ...(pr ? { draft: pr.draft } : {}),
    ...(failed ? { failureCode: failed.code, ...(failed.pipelineCode ? { pipelineCode: failed.pipelineCode } : {}) } : {}),
    ...(saga?.failure ? { failure: saga.failure } : !saga ? { failure: `no result within ${Math.round(o.timeoutMs / 1000)} s` } : {}),
    figures,
    ...(hidden ? { hidden } : {}),
    ...(environments ? { environments } : {}),
    harness,
    wallMs: Date.now() - started,
  };
}
