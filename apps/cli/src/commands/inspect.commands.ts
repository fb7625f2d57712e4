import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import type { SpanRecord } from '@agency/telemetry';
import { AgencyApi, type SagaSummary } from '../api.client.js';
import { defaultRunDir } from '../paths.js';
import { findFrFile } from './up.command.js';

/** A saga's step, with the attempt when it is a retry: `code #2`. */
export function stepOf(s: SagaSummary): string {
  return `${s.step}${s.attempt > 1 ? ` #${s.attempt}` : ''}`;
}

/** The FR table (or what to do when there are no FRs). */
export function renderStatus(sagas: SagaSummary[]): string {
  if (sagas.length === 0) return 'no FRs yet: move an FR file into 10_features/03_planned/';
  const table = new Table({ head: ['FR', 'title', 'state', 'step', 'round', 'tier', 'cost $', 'PR'] });
  for (const s of sagas) table.push([s.frId, s.title.slice(0, 40), s.state, stepOf(s), s.round, s.tier ?? '', s.costUsd.toFixed(4), s.prUrl ?? s.failure ?? '']);
  return table.toString();
}

/** The line above each redraw of `status --watch`. */
export function watchTitle(seconds: number, at: Date): string {
  return `every ${seconds} s, ${at.toISOString().slice(11, 19)} UTC (Ctrl-C stops)`;
}

/**
 * The FR table once; with `watchSeconds`, redrawn that often until Ctrl-C, the screen cleared
 * between draws on a terminal (successive tables otherwise). While watching, an orchestrator that
 * does not answer is shown in place of the table, and the watch goes on.
 */
export async function status(api: AgencyApi, watchSeconds?: number): Promise<number> {
  const sagas = async () => (await api.get<{ sagas: SagaSummary[] }>(api.orchestratorUrl, '/sagas')).sagas;
  if (watchSeconds === undefined) {
    console.log(renderStatus(await sagas()));
    return 0;
  }
  for (;;) {
    const body = await sagas().then(renderStatus, (e: Error) => `agency: ${e.message}`);
    // console.clear() does nothing when stdout is not a terminal.
    console.clear();
    console.log(`${watchTitle(watchSeconds, new Date())}\n${body}\n`);
    await new Promise((r) => setTimeout(r, watchSeconds * 1000));
  }
}

interface Job {
  jobId: string;
  frId: string;
  repo: string;
  priority: string;
  tier: string;
  state: string;
  enqueuedAt: string;
}

export async function jobs(api: AgencyApi): Promise<number> {
  const { jobs: list } = await api.get<{ jobs: Job[] }>(api.registryUrl, '/jobs');
  const table = new Table({ head: ['job', 'FR', 'repo', 'priority', 'tier', 'state', 'enqueued'] });
  for (const j of list) table.push([j.jobId, j.frId, j.repo, j.priority, j.tier, j.state, j.enqueuedAt]);
  console.log(list.length ? table.toString() : 'no jobs');
  return 0;
}

/** Merges an FR's pull request on the local forge, as a human reviewer would. */
export async function merge(api: AgencyApi, frId: string): Promise<number> {
  const saga = await api.get<{ pr?: { url: string; number: number } }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}`);
  const m = saga.pr?.url.match(/^local:\/\/(.+)\/pulls\/(\d+)$/);
  if (!saga.pr || !m) throw new Error(`${frId} has no pull request on the local forge (yet)`);
  const result = await api.post<{ mergeSha?: string }>(api.gitServiceUrl, `/forge/local/repos/${m[1]}/pulls/${m[2]}/merge`);
  console.log(`merged ${saga.pr.url}${result?.mergeSha ? ` as ${result.mergeSha.slice(0, 12)}` : ''}; the FR moves to done`);
  return 0;
}

/** The FR's trace id: from the running orchestrator, or from the FR file's front matter. */
async function traceIdOf(api: AgencyApi, frId: string): Promise<string> {
  try {
    return (await api.get<{ traceId: string }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}`)).traceId;
  } catch (e) {
    const file = findFrFile(process.env.AGENCY_VAULT ?? join(defaultRunDir(), 'vault'), frId);
    const id = file ? readFileSync(file, 'utf8').match(/^trace_id: ([0-9a-f]{32})$/m)?.[1] : undefined;
    if (!id) throw e;
    return id;
  }
}

/** Prints an FR's trace as a tree, from the spans the services wrote to the local trace file. */
export async function traceOf(api: AgencyApi, frId: string, file = join(defaultRunDir(), 'traces.jsonl')): Promise<number> {
  const saga = { traceId: await traceIdOf(api, frId) };
  if (!existsSync(file)) throw new Error(`no trace file at ${file} (with OTEL_EXPORTER_OTLP_ENDPOINT set, look up trace ${saga.traceId} in Jaeger)`);
  const spans = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(saga.traceId))
    .map((l) => JSON.parse(l) as SpanRecord)
    .sort((a, b) => a.startMs - b.startMs);
  const children = new Map<string | undefined, SpanRecord[]>();
  const ids = new Set(spans.map((s) => s.spanId));
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const t0 = spans[0]?.startMs ?? 0;
  const print = (parent: string | undefined, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      console.log(`${`+${((s.startMs - t0) / 1000).toFixed(3)}s`.padStart(10)} ${String(Math.round(s.durationMs)).padStart(6)}ms  ${'  '.repeat(depth)}${s.name}  [${s.service}]${s.status === 2 ? '  ERROR' : ''}`);
      print(s.spanId, depth + 1);
    }
  };
  console.log(`trace ${saga.traceId}: ${spans.length} spans from ${new Set(spans.map((s) => s.service)).size} services`);
  print(undefined, 0);
  return 0;
}
