import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpanRecord } from '@agency/telemetry';
import type { QueuedJobView, RefusedFrSummary, SagaList } from '@agency/contracts';
import { AgencyApi, type SagaSummary } from '../api.client.js';
import { defaultRunDir } from '../paths.js';
import { newTable, wantsColour } from '../output/table.js';
import { findFrFile } from './up.command.js';

/** A saga's step, with the attempt when it is a retry: `code #2`. */
export function stepOf(s: SagaSummary): string {
  return `${s.step}${s.attempt > 1 ? ` #${s.attempt}` : ''}`;
}

/**
 * The FR table (and how many older finished runs it leaves out), then the files the intake
 * refused or holds (or what to do when there are no FRs).
 */
export function renderStatus(sagas: SagaSummary[], refused: RefusedFrSummary[] = [], colour = wantsColour(), finishedNotListed = 0): string {
  if (sagas.length === 0 && refused.length === 0) return 'no FRs yet: move an FR file into 10_features/03_planned/';
  const parts: string[] = [];
  if (sagas.length > 0) {
    const table = newTable(['FR', 'title', 'state', 'step', 'round', 'tier', 'cost $', 'PR'], colour);
    for (const s of sagas)
      table.push([s.frId, s.title.slice(0, 40), s.state, stepOf(s), s.round, s.tier ?? '', s.costUsd.toFixed(4), s.prUrl ?? s.failure ?? '']);
    parts.push(table.toString());
  }
  if (finishedNotListed > 0) parts.push(`${finishedNotListed} older finished run(s) not listed; agency logs FR-x shows any FR`);
  if (refused.length > 0) {
    const table = newTable(['FR', 'refused', 'file', 'why'], colour);
    for (const r of refused) table.push([r.frId ?? '', r.code, r.now, r.reason.slice(0, 120)]);
    parts.push(`refused or held at intake:\n${table.toString()}`);
  }
  return parts.join('\n');
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
  const listing = async () => {
    // --watch reads again and again: a poll, which the orchestrator neither traces nor logs at info.
    const l = await api.get<SagaList>(api.orchestratorUrl, '/sagas', { poll: watchSeconds !== undefined });
    return renderStatus(l.sagas, l.refused ?? [], wantsColour(), l.finishedNotListed ?? 0);
  };
  if (watchSeconds === undefined) {
    console.log(await listing());
    return 0;
  }
  for (;;) {
    const body = await listing().catch((e: Error) => `agency: ${e.message}`);
    // console.clear() does nothing when stdout is not a terminal.
    console.clear();
    console.log(`${watchTitle(watchSeconds, new Date())}\n${body}\n`);
    await new Promise((r) => setTimeout(r, watchSeconds * 1000));
  }
}

export async function jobs(api: AgencyApi): Promise<number> {
  const { jobs: list } = await api.get<{ jobs: QueuedJobView[] }>(api.registryUrl, '/jobs');
  const table = newTable(['job', 'FR', 'repo', 'priority', 'tier', 'state', 'enqueued']);
  for (const j of list) table.push([j.jobId, j.frId, j.repo, j.priority, j.tier, j.state, j.enqueuedAt]);
  console.log(list.length ? table.toString() : 'no jobs');
  return 0;
}

/** What the local forge answers to a merge (POST /forge/local/repos/:owner/:name/pulls/:n/merge). */
interface MergeAnswer {
  pull: { url: string; mergeSha?: string | null; mergedAt?: string | null };
  alreadyMerged: boolean;
}

/**
 * Merges an FR's pull request on the local forge, as a human reviewer would. An FR whose PR is
 * merged already is an error that says so (exit 1), not a second "merged".
 */
export async function merge(api: AgencyApi, frId: string): Promise<number> {
  const saga = await api.get<{ state: string; pr?: { url: string; number: number } }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}`);
  const m = saga.pr?.url.match(/^local:\/\/(.+)\/pulls\/(\d+)$/);
  if (!saga.pr || !m) throw new Error(`${frId} has no pull request on the local forge (yet); it is ${saga.state}`);
  const result = await api.post<MergeAnswer>(api.gitServiceUrl, `/forge/local/repos/${m[1]}/pulls/${m[2]}/merge`);
  console.log(mergeMessage(frId, saga.pr.url, result));
  return result.alreadyMerged ? 1 : 0;
}

/** The line `agency merge` prints: merged now, or merged already (nothing done). */
export function mergeMessage(frId: string, prUrl: string, result: MergeAnswer): string {
  const sha = result.pull.mergeSha ? ` as ${result.pull.mergeSha.slice(0, 12)}` : '';
  if (result.alreadyMerged) return `${frId}: ${prUrl} was already merged${sha}${result.pull.mergedAt ? ` at ${result.pull.mergedAt}` : ''}; nothing to merge`;
  return `${frId}: merged ${prUrl}${sha}; the FR moves to done`;
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
      console.log(
        `${`+${((s.startMs - t0) / 1000).toFixed(3)}s`.padStart(10)} ${String(Math.round(s.durationMs)).padStart(6)}ms  ${'  '.repeat(depth)}${s.name}  [${s.service}]${s.status === 2 ? '  ERROR' : ''}`,
      );
      print(s.spanId, depth + 1);
    }
  };
  console.log(`trace ${saga.traceId}: ${spans.length} spans from ${new Set(spans.map((s) => s.service)).size} services`);
  print(undefined, 0);
  return 0;
}
