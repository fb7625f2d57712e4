#!/usr/bin/env node
// Cost independent of history (issue 13 item 11): the idle CPU and memory of every service and
// of nats-server with few and with many finished FRs stored, and what one FR costs with little
// and with much history. The seven services run as separate processes on a real nats-server,
// with the scripted model, the greeter repository and the Docker sandbox, as in bench/pipeline.
//
//   npm run build && node bench/history/run.mjs   (Node 24: the services run on this node) [--batch 10] [--small 100] [--mid 1000] [--large 5000] [--idle-seconds 60]
//
// 1. A batch of FRs runs to a PR, each PR is merged (done): CPU per FR with no history.
// 2. History is filled up to --small finished FRs, then the stack idles: CPU and memory.
// 3. History up to --mid, another batch: CPU per FR with that history.
// 4. History up to --large, the stack idles again, then a last batch.
// History is cloned from the batch's real finished runs, under new FR ids: the saga record and
// its FR pointer and day index, the registry's job and its day index, and the FR file in 06_done,
// the same keys and sizes a real run leaves (the audit stream is not copied: no idle path reads it).
// CPU is user+system time of the service processes and nats-server (not the sandbox containers).
// Not part of the test suite: numbers go to bench/results/history.md by hand, with the machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { LocalStack, seedBareRepo, seedVault, startNats, STACK_SERVICES } = await import(join(root, 'dist/libs/stack/src/index.js'));
const { BusConnection, KvStore } = await import(join(root, 'dist/libs/messaging/src/index.js'));
const { BUCKETS, STREAMS } = await import(join(root, 'dist/libs/contracts/src/index.js'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const BATCH = arg('batch', 10);
const SMALL = arg('small', 100);
const MID = arg('mid', 1000);
const LARGE = arg('large', 5000);
const IDLE_S = arg('idle-seconds', 60);
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'agency-bench-history-'));
const vault = join(dir, 'vault');
const forge = join(dir, 'forge');
seedVault(join(root, 'examples', 'vault'), vault);
const configFile = join(vault, '40_config', 'agency.yaml');
writeFileSync(
  configFile,
  readFileSync(configFile, 'utf8')
    .replace('root: ../../forge', `root: ${forge}`)
    .replace(/global: 4\n {2}per_repo: 2/, `global: ${BATCH}\n  per_repo: ${BATCH}`),
);
const planned = join(vault, '10_features', '03_planned');
for (const f of readdirSync(planned)) if (f.endsWith('.md')) rmSync(join(planned, f));
seedBareRepo(forge, 'example/greeter', join(root, 'examples', 'repos', 'greeter'));

const nats = await startNats(join(dir, 'nats'));
// The services' own defaults for every interval (scan, sweep, dispatch): idle cost as deployed.
const stack = new LocalStack({ runDir: join(dir, 'run'), vaultPath: vault, rootDir: root, natsUrl: nats.url, env: { LOG_LEVEL: 'warn' } });

/** CPU seconds (user + system) and resident memory (MiB) of a process, from /proc. */
function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICK;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  return { cpu, rss };
}
const processes = () => ({ ...Object.fromEntries(STACK_SERVICES.map((s) => [s, stack.pid(s)])), 'nats-server': nats.child.pid });
const sample = () => Object.fromEntries(Object.entries(processes()).map(([name, pid]) => [name, usage(pid)]));
const cpuDelta = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, b[k].cpu - a[k].cpu]));
const total = (o) => Object.values(o).reduce((x, y) => x + y, 0);

let bus;
let sagas;
let jobs;
let nextId = 1000;
const real = [];
const results = { batches: [], idles: [] };

/** Each FR's run by itself: people's listing (GET /sagas) shows the recently finished too, so polling it would measure the listing, not the FRs. */
async function current(ids) {
  const runs = await Promise.all(
    ids.map(async (id) => {
      const res = await fetch(`${stack.url('orchestrator')}/sagas/${id}`);
      return res.ok ? await res.json() : undefined;
    }),
  );
  return runs.filter(Boolean).map((r) => ({ ...r, prUrl: r.pr?.url, failure: r.failure?.reason }));
}

async function waitFor(ids, states, what) {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const by = new Map((await current(ids)).map((s) => [s.frId, s]));
    const bad = ids.map((id) => by.get(id)).filter((s) => s && ['failed', 'blocked', 'cancelled'].includes(s.state));
    if (bad.length) throw new Error(`${bad.map((s) => `${s.frId} ${s.state}: ${s.failure}`).join('; ')}`);
    if (ids.every((id) => states.includes(by.get(id)?.state))) return by;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** A batch of FRs from intake to a merged PR: CPU of every process per FR. */
async function batch(history) {
  const ids = Array.from({ length: BATCH }, () => `FR-${nextId++}`);
  const before = sample();
  const started = Date.now();
  for (const id of ids)
    writeFileSync(join(planned, `${id}-bench.md`), `---\nid: ${id}\ntitle: Bench ${id}\n---\n\n## Acceptance criteria\n\n- docs/${id}.md exists\n`);
  const waiting = await waitFor(ids, ['awaiting-merge'], 'the batch at its PRs');
  for (const id of ids) {
    const n = waiting.get(id).prUrl.split('/').pop();
    const res = await fetch(`${stack.url('git-service')}/forge/local/repos/example/greeter/pulls/${n}/merge`, { method: 'POST' });
    if (!res.ok) throw new Error(`merge of ${id}'s PR #${n}: ${res.status} ${await res.text()}`);
  }
  await waitFor(ids, ['done'], 'the batch done');
  // The last clean-ups (job, worktree, index) settle within a sweep.
  await sleep(6000);
  const cpu = cpuDelta(before, sample());
  real.push(...ids);
  const row = {
    history,
    frs: BATCH,
    seconds: (Date.now() - started) / 1000,
    cpuPerFr: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / BATCH])),
  };
  results.batches.push(row);
  console.log(`batch at ${history} finished FRs: ${row.seconds.toFixed(1)} s, ${(total(cpu) / BATCH).toFixed(2)} CPU s per FR`);
  return row;
}

/** Finished FRs cloned from the real ones until `count` are stored. */
async function fillHistory(count) {
  const templates = [];
  for (const frId of real) {
    const saga = (await sagas.get(`saga.${frId}-r1`)).value;
    const job = (await jobs.get(`job-${frId}-r1`)).value;
    const file = readdirSync(join(vault, '10_features', '06_done')).find((f) => f.startsWith(`${frId}-`));
    templates.push({ saga, job, file });
  }
  const day = new Date().toISOString().slice(0, 10);
  const stored = async () => ((await sagas.get(`index.finished.${day}`))?.value.sagas ?? []).length;
  const have = await stored();
  const added = { sagas: [], jobs: [] };
  for (let i = have; i < count; i += 1) {
    const t = templates[i % templates.length];
    const frId = `FR-${100000 + i}`;
    const sagaId = `${frId}-r1`;
    const swap = (text) => text.replaceAll(t.saga.frId, frId);
    const saga = JSON.parse(swap(JSON.stringify(t.saga)));
    const job = JSON.parse(swap(JSON.stringify(t.job)));
    await sagas.put(`saga.${sagaId}`, saga);
    await sagas.put(`fr.${frId}`, { frId, sagaId, run: 1 });
    await jobs.put(job.jobId, job);
    added.sagas.push(sagaId);
    added.jobs.push(job.jobId);
    writeFileSync(join(vault, '10_features', '06_done', swap(t.file)), swap(readFileSync(join(vault, '10_features', '06_done', t.file), 'utf8')));
  }
  await sagas.mutate(`index.finished.${day}`, (v) => ({ sagas: [...(v?.sagas ?? []), ...added.sagas] }));
  await jobs.mutate(`index.finished.${day}`, (v) => ({ jobs: [...(v?.jobs ?? []), ...added.jobs] }));
  console.log(`history: ${await stored()} finished FRs stored`);
}

async function consumers() {
  const counts = {};
  for (const s of [STREAMS.commands.name, STREAMS.events.name, `KV_${BUCKETS.sagas}`, `KV_${BUCKETS.jobs}`]) {
    let n = 0;
    for await (const _c of bus.jsm.consumers.list(s)) n += 1;
    counts[s] = n;
  }
  return counts;
}

/** People's listing (GET /sagas, what status and the dashboard show): the active runs and those finished within the retention. */
async function listing() {
  const before = sample();
  const started = Date.now();
  const listed = (await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()).sagas.length;
  const ms = Date.now() - started;
  const cpu = cpuDelta(before, sample());
  return { listed, ms, cpu: cpu.orchestrator + cpu['nats-server'] };
}

/** The stack doing nothing for IDLE_S seconds after a settling minute: CPU per minute, memory at the end. */
async function idle(history) {
  await sleep(60_000);
  const before = sample();
  await sleep(IDLE_S * 1000);
  const after = sample();
  const cpu = cpuDelta(before, after);
  const row = {
    history,
    cpuPerMin: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, (v * 60) / IDLE_S])),
    rssMiB: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v.rss])),
    consumers: await consumers(),
    listing: await listing(),
  };
  results.idles.push(row);
  console.log(`idle with ${history} finished FRs: ${total(row.cpuPerMin).toFixed(2)} CPU s per minute, ${total(row.rssMiB).toFixed(0)} MiB`);
  return row;
}

try {
  await stack.start();
  bus = await BusConnection.connect({ servers: nats.url, name: 'bench-history' });
  sagas = await KvStore.open(bus, BUCKETS.sagas, { history: 10 });
  jobs = await KvStore.open(bus, BUCKETS.jobs, { history: 10 });

  await batch(0);
  await fillHistory(SMALL);
  await idle(SMALL);
  await fillHistory(MID);
  await batch(MID);
  await fillHistory(LARGE);
  await idle(LARGE);
  await batch(LARGE);

  const names = Object.keys(processes());
  const f2 = (v) => v.toFixed(2);
  const lines = [
    `date: ${new Date().toISOString()}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim()}; load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    '',
    `| idle, ${IDLE_S} s | ${names.join(' | ')} | all |`,
    `| --- | ${names.map(() => '---').join(' | ')} | --- |`,
    ...results.idles.flatMap((r) => [
      `| ${r.history} finished: CPU s/min | ${names.map((n) => f2(r.cpuPerMin[n])).join(' | ')} | ${f2(total(r.cpuPerMin))} |`,
      `| ${r.history} finished: RSS MiB | ${names.map((n) => r.rssMiB[n].toFixed(0)).join(' | ')} | ${total(r.rssMiB).toFixed(0)} |`,
    ]),
    '',
    `| batch of ${BATCH} FRs to done | ${names.join(' | ')} | all | wall s |`,
    `| --- | ${names.map(() => '---').join(' | ')} | --- | --- |`,
    ...results.batches.map(
      (r) =>
        `| ${r.history} finished before: CPU s per FR | ${names.map((n) => f2(r.cpuPerFr[n])).join(' | ')} | ${f2(total(r.cpuPerFr))} | ${r.seconds.toFixed(0)} |`,
    ),
    '',
    `consumers per stream when idle: ${results.idles.map((r) => `${r.history} finished: ${JSON.stringify(r.consumers)}`).join('; ')}`,
    `people's listing (GET /sagas): ${results.idles.map((r) => `${r.history} finished: ${r.listing.listed} runs listed in ${r.listing.ms} ms, ${r.listing.cpu.toFixed(2)} CPU s (orchestrator and nats-server)`).join('; ')}`,
  ];
  console.log(lines.join('\n'));
  writeFileSync(join(tmpdir(), 'agency-bench-history.json'), JSON.stringify(results, null, 2));
} finally {
  await bus?.close().catch(() => undefined);
  await stack.stop().catch(() => undefined);
  await nats.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
