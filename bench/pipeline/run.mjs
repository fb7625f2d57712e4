#!/usr/bin/env node
// Pipeline overhead benchmark (issue 6): N FRs through the full pipeline (seven processes, real
// NATS, git, the scripted model with zero latency, the greeter repository), all dropped at once.
// Reports FRs per minute, time per FR with the test run and queue wait subtracted (median, p99)
// and bus hop latency (publish span start -> consumer span start), from the services' spans.
//
//   npm run build && node bench/pipeline/run.mjs [--frs 50] [--concurrency 20]
//
// Not part of the test suite: numbers go to bench/results/pipeline.md by hand, with the machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { LocalStack, seedBareRepo, seedVault, startNats } = await import(join(root, 'dist/libs/stack/src/index.js'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('frs', 50);
const CONCURRENCY = arg('concurrency', 20);

const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};
const fmt = (ms) => `${ms.toFixed(1)} ms`;

const dir = mkdtempSync(join(tmpdir(), 'agency-bench-pipeline-'));
const vault = join(dir, 'vault');
const forge = join(dir, 'forge');
seedVault(join(root, 'examples', 'vault'), vault);
const configFile = join(vault, '40_config', 'agency.yaml');
writeFileSync(
  configFile,
  readFileSync(configFile, 'utf8')
    .replace('root: ../../forge', `root: ${forge}`)
    .replace(/global: 4\n {2}per_repo: 2/, `global: ${CONCURRENCY}\n  per_repo: ${CONCURRENCY}`),
);
for (const f of readdirSync(join(vault, '10_features', '03_planned'))) if (f.endsWith('.md')) rmSync(join(vault, '10_features', '03_planned', f));
seedBareRepo(forge, 'example/greeter', join(root, 'examples', 'repos', 'greeter'));

const nats = await startNats(join(dir, 'nats'));
const stack = new LocalStack({
  runDir: join(dir, 'run'),
  vaultPath: vault,
  rootDir: root,
  natsUrl: nats.url,
  env: { LOG_LEVEL: 'warn', SCAN_INTERVAL_MS: '500', DISPATCH_INTERVAL_MS: '250', BUS_CONCURRENCY: '16' },
});
try {
  await stack.start();
  const ids = Array.from({ length: N }, (_, i) => `FR-${1000 + i}`);
  const dropped = Date.now();
  for (const id of ids)
    writeFileSync(
      join(vault, '10_features', '03_planned', `${id}-bench.md`),
      `---\nid: ${id}\ntitle: Bench ${id}\n---\n\n## Acceptance criteria\n\n- docs/${id}.md exists\n`,
    );

  let sagas = [];
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    sagas = (await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()).sagas;
    const done = sagas.filter((s) => ['awaiting-merge', 'done', 'failed', 'blocked'].includes(s.state));
    if (sagas.length === N && done.length === N) break;
    if (Date.now() > deadline) throw new Error(`timed out: ${done.length}/${N} finished`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const finishedAt = Date.now();
  const lost = N - sagas.filter((s) => s.state === 'awaiting-merge').length;

  await stack.stop();

  // Per FR, from the spans all seven services wrote for its trace.
  const spans = readFileSync(stack.traceFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const byTrace = new Map();
  for (const sp of spans) byTrace.set(sp.traceId, [...(byTrace.get(sp.traceId) ?? []), sp]);
  const byId = new Map(spans.map((sp) => [sp.spanId, sp]));
  const WORK = /^(agent-runner\.(plan|code|test)|reviewer\.review|git-service\.open-pr|router\.score|registry\.enqueue) process$/;
  const total = [];
  const work = [];
  const overhead = [];
  const queueWait = [];
  const orchestratorOwn = [];
  for (const trace of byTrace.values()) {
    const rootSpan = trace.find((sp) => sp.name.startsWith('FR ') && !sp.parentSpanId);
    const opened = trace.filter((sp) => sp.name === 'git-service.pr-opened process' && sp.service === 'orchestrator');
    if (!rootSpan || opened.length === 0) continue;
    const end = Math.max(...opened.map((sp) => sp.startMs + sp.durationMs));
    const t = end - rootSpan.startMs;
    // Only the final open-pr counts as work here: the draft PR of round 1 runs beside the review.
    const w = trace
      .filter((sp) => WORK.test(sp.name) && (sp.name !== 'git-service.open-pr process' || sp.attributes['agency.step'] === 'open-pr'))
      .reduce((a, sp) => a + sp.durationMs, 0);
    const enqueued = trace.find((sp) => sp.name === 'registry.enqueue process');
    const dispatch = trace.find((sp) => sp.name === 'job.dispatch');
    const q = enqueued && dispatch ? Math.max(0, dispatch.startMs - (enqueued.startMs + enqueued.durationMs)) : 0;
    total.push(t);
    work.push(w);
    // The orchestrator's own time on this FR: its event handling and step spans (top level only).
    orchestratorOwn.push(
      trace
        .filter((sp) => sp.service === 'orchestrator' && sp.name.endsWith(' process') && byId.get(sp.parentSpanId)?.service !== 'orchestrator')
        .reduce((a, sp) => a + sp.durationMs, 0),
    );
    queueWait.push(q);
    overhead.push(t - w - q);
  }
  const hopSpans = spans.filter((sp) => sp.name.endsWith(' process') && byId.get(sp.parentSpanId)?.name.endsWith(' send'));
  const hops = hopSpans.map((sp) => sp.startMs - byId.get(sp.parentSpanId).startMs);
  // Where the slow hops are (over 1 s): by consuming service and message, to tell queueing from a bug.
  const slow = new Map();
  for (const sp of hopSpans) {
    if (sp.startMs - byId.get(sp.parentSpanId).startMs <= 1000) continue;
    const k = `${sp.service} ${sp.name.replace(/ process$/, '')}`;
    slow.set(k, (slow.get(k) ?? 0) + 1);
  }

  const elapsedMin = (finishedAt - dropped) / 60_000;
  const stat = (v) => `median ${fmt(pct(v, 50))}, p99 ${fmt(pct(v, 99))}`;
  const lines = [
    `date: ${new Date().toISOString().slice(0, 10)}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, nats-server ${execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim()}`,
    `FRs: ${N} dropped at once, ${CONCURRENCY} concurrent slots; reached a PR: ${N - lost}; lost or failed: ${lost}`,
    `throughput: ${(N / elapsedMin).toFixed(1)} FRs/minute (${((finishedAt - dropped) / 1000).toFixed(1)} s for all)`,
    `per FR, intake -> PR opened: ${stat(total)}`,
    `  work in the services (router, registry, planner, coder, tests, reviewer, PR): ${stat(work)}`,
    `  waiting for a job slot: ${stat(queueWait)}`,
    `  orchestration overhead (the rest: bus hops, saga transitions, FR file writes, waiting for a busy service): ${stat(overhead)}`,
    `  of which the orchestrator's own handling of the FR's events (saga, KV, FR file, publishes): ${stat(orchestratorOwn)}`,
    `bus hop (publish -> consumer start), ${hops.length} hops: ${stat(hops)}`,
    `  hops over 1 s: ${
      [...slow]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
  ];
  console.log(lines.join('\n'));
} finally {
  await stack.stop().catch(() => undefined);
  await nats.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
