#!/usr/bin/env node
// LLM gateway benchmark: our gateway vs Portkey's open-source gateway vs no gateway at all, all
// pointed at the same local mock upstream (OpenAI's format), non-streaming and streaming.
//
// Run from the repository root, with Node 24 (the one in node_modules):
//   export PATH=$PWD/node_modules/.bin:$PATH
//   node bench/llm-gateway/run.mjs                  # full run (~8 minutes)
//   node bench/llm-gateway/run.mjs --quick          # shorter phases, for a smoke test
//   node bench/llm-gateway/run.mjs --json out.json  # also write the raw numbers
//   node bench/llm-gateway/run.mjs --pin            # pin the load side and the gateways apart (below)
//   node bench/llm-gateway/run.mjs --rounds 2       # A B C D D C B A, twice (default once)
//
// The peers are measured side by side in one run, interleaved: each measurement (latency at 1
// connection, then throughput at 32) goes through the targets in order and back (A B C D D C B A),
// so a machine that gets busier or quieter during the run affects every target alike; a target's
// figure is the mean of its measurements, and the 1-minute load average during them is printed
// next to it. Every gateway is started with this process's Node (process.execPath), so both peers
// run on the same Node version, printed in the header.
//
// What it measures, for each target (direct = client -> mock, ours, ours with telemetry, portkey;
// for JSON also ours with stream_upstream: true, asking the vendor for a stream and assembling it,
// as ours does by default for an answer that may outlast the first-byte timeout (no max_tokens or
// a large one: the benchmark's 256 tokens are asked as JSON, as Portkey asks every call);
// and floor, a bare Node proxy that does only what every gateway must: floor-proxy.mjs)
// and mode (json, sse):
// - latency at 1 connection: sequential requests on a keep-alive connection, timed with
//   process.hrtime; median and p99. "Added" latency = the gateway's minus direct's.
// - throughput at 32 connections: autocannon, requests per second over the phase.
// - memory: resident set size (VmRSS) and its peak (VmHWM) of each gateway process, at the end.
// - CPU per request during the throughput runs (user + system, from /proc): of the gateway process,
//   and of nats-server, which stores the usage events of FR-tagged calls on the same cores.
// "ours" runs with telemetry off (no span export, calls without an FR). "ours + telemetry" is a
// second process of the same build with both on: spans exported to a file (AGENCY_TRACE_FILE,
// batched) and every call tagged with x-agency-fr-id like the agency's own calls, so each also
// puts a usage event on JetStream and charges the FR's spend in the agency-budgets KV bucket.
// It builds the repo (tools/build.mjs), starts nats-server, the mock, both of our gateways
// (dist/apps/llm-gateway/src/main.js) and Portkey (@portkey-ai/gateway), each in its own process,
// and stops them all at the end. It is not part of the test suite.
// With --pin (taskset), this process (the load generator), the mock and nats-server run on CPU 0
// and each gateway on CPU 1: every gateway then has one core of its own, instead of competing with
// the load generator and the mock for both.
// Portkey 1.15.2 as installed cannot stream on Node (see portkey-fetch-shim.mjs): the JSON rows use
// stock Portkey, the SSE rows a second Portkey process started with that one-line fetch shim.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import {
  bodyFor as requestBody,
  cannon,
  CONNECTIONS,
  cpuUs,
  FR_HEADERS,
  freePort,
  GATEWAY_KEY,
  gatewayEnv as harnessEnv,
  memory,
  runBenchmark,
  start as startProcess,
  vault,
  waitFor,
} from './harness.mjs';

const root = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const pin = args.includes('--pin');
const ROUNDS = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 1;
const LATENCY_REQUESTS = quick ? 1500 : 6000;
const LATENCY_WARMUP = quick ? 300 : 1500;
/** A slow target (Portkey streams ~27 ms per answer) stops at this many seconds instead. */
const LATENCY_MAX_SECONDS = quick ? 8 : 20;
const THROUGHPUT_SECONDS = quick ? 4 : 12;
const WARMUP_SECONDS = quick ? 2 : 5;
/** Warm-up before a target's later throughput measurements (it is warm already). */
const REWARM_SECONDS = 1;
const work = mkdtempSync(join(tmpdir(), 'llm-gateway-bench-'));

/** `cpu`: with --pin, the CPU the process is confined to. */
const start = (name, command, argv, env = {}, cpu = undefined) => startProcess(name, command, argv, { root, env, cpu, pin });

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(target, body) {
  return new Promise((res, rej) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.path,
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent,
      },
      (r) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () =>
          r.statusCode === 200 ? res() : rej(new Error(`${target.name} answered ${r.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`)),
        );
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function latency(target, body) {
  const warmUntil = Date.now() + (LATENCY_MAX_SECONDS * 1000) / 4;
  for (let i = 0; i < LATENCY_WARMUP && Date.now() < warmUntil; i += 1) {
    try {
      await post(target, body);
    } catch (e) {
      throw new Error(`warm-up request ${i} failed: ${e.message}`);
    }
  }
  const ms = [];
  const until = Date.now() + LATENCY_MAX_SECONDS * 1000;
  for (let i = 0; i < LATENCY_REQUESTS && Date.now() < until; i += 1) {
    const t = process.hrtime.bigint();
    await post(target, body);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { p50: pct(ms, 50), p99: pct(ms, 99), samples: ms.length };
}

/** `natsPid`: nats-server, which stores the usage events of FR-tagged calls on the same cores. */
async function throughput(target, body, warmSeconds, natsPid) {
  await cannon(target, body, warmSeconds);
  const cpuBefore = target.pid ? cpuUs(target.pid) : 0;
  const natsBefore = cpuUs(natsPid);
  const r = await cannon(target, body, THROUGHPUT_SECONDS);
  const failed = r.non2xx + r.errors + r.timeouts;
  // CPU per request of the gateway process: what a call costs it, whatever else runs on the machine.
  const cpuPerRequest = target.pid ? (cpuUs(target.pid) - cpuBefore) / r.requests.total : undefined;
  const natsPerRequest = (cpuUs(natsPid) - natsBefore) / r.requests.total;
  return { rps: r.requests.total / THROUGHPUT_SECONDS, loadedP50: r.latency.p50, loadedP99: r.latency.p99, failed, cpuPerRequest, natsPerRequest };
}

/** Runs `measure` over the targets in order and back (A B C D D C B A), ROUNDS times; the load average goes with each run. */
async function interleaved(targets, measure) {
  const runs = new Map(targets.map((t) => [t.name, []]));
  const order = [...targets, ...[...targets].reverse()];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const t of order) {
      const loadBefore = loadavg()[0];
      const first = runs.get(t.name).length === 0;
      const value = await measure(t, first);
      runs.get(t.name).push({ ...value, load: (loadBefore + loadavg()[0]) / 2 });
    }
  }
  return runs;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const loadAtStart = loadavg()[0];
  if (pin) execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
  console.error('building...');
  execFileSync(process.execPath, ['tools/build.mjs', '--quiet'], { cwd: root, stdio: 'inherit' });
  const [natsPort, mockPort, oursPort, telePort, portkeyPort, portkeySsePort, floorPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);

  const nats = start(
    'nats-server',
    process.env.NATS_SERVER_BIN ?? 'nats-server',
    ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(work, 'js')],
    {},
    0,
  );
  const mock = start('mock', process.execPath, ['bench/llm-gateway/mock-upstream.mjs', String(mockPort)], {}, 0);
  mkdirSync(join(work, 'vault', '40_config'), { recursive: true });
  writeFileSync(join(work, 'vault', '40_config', 'agency.yaml'), vault(mockPort));
  const gatewayEnv = (port) => harnessEnv({ natsPort, port, vaultPath: join(work, 'vault') });
  const ours = start('our gateway', process.execPath, ['dist/apps/llm-gateway/src/main.js'], gatewayEnv(oursPort), 1);
  const spanFile = join(work, 'spans.jsonl');
  const tele = start(
    'our gateway (telemetry)',
    process.execPath,
    ['dist/apps/llm-gateway/src/main.js'],
    { ...gatewayEnv(telePort), AGENCY_TRACE_FILE: spanFile, WORK_DIR: join(work, 'gateway-work') },
    1,
  );
  const portkeyServer = ['node_modules/@portkey-ai/gateway/build/start-server.js', '--headless'];
  const portkey = start('portkey', process.execPath, [...portkeyServer, `--port=${portkeyPort}`], { NODE_ENV: 'production' }, 1);
  const portkeySse = start(
    'portkey (streaming shim)',
    process.execPath,
    ['--import', './bench/llm-gateway/portkey-fetch-shim.mjs', ...portkeyServer, `--port=${portkeySsePort}`],
    { NODE_ENV: 'production' },
    1,
  );

  const floor = start('floor proxy', process.execPath, ['bench/llm-gateway/floor-proxy.mjs', String(floorPort), String(mockPort)], {}, 1);
  const floorTarget = {
    name: 'floor',
    label: 'floor (bare Node proxy)',
    port: floorPort,
    path: '/v1/chat/completions',
    headers: {},
    model: 'bench-model',
    pid: floor.child.pid,
  };
  const portkeyHeaders = { authorization: 'Bearer sk-bench', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `http://127.0.0.1:${mockPort}/v1` };
  const direct = { name: 'direct', port: mockPort, path: '/v1/chat/completions', headers: {}, model: 'bench-model' };
  const oursTarget = {
    name: 'ours',
    port: oursPort,
    path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${GATEWAY_KEY}` },
    model: 'bench',
    pid: ours.child.pid,
  };
  const teleTarget = {
    name: 'ours-telemetry',
    label: 'ours + telemetry',
    port: telePort,
    path: '/v1/chat/completions',
    headers: { ...oursTarget.headers, ...FR_HEADERS },
    model: 'bench',
    pid: tele.child.pid,
  };
  const targetsOf = {
    json: [
      direct,
      oursTarget,
      teleTarget,
      { name: 'portkey', port: portkeyPort, path: '/v1/chat/completions', headers: portkeyHeaders, model: 'bench-model', pid: portkey.child.pid },
      // What a long answer costs: asked as a stream and assembled (stream_upstream: true, so a
      // first-byte limit never cuts it); the default (auto) asks the benchmark's short answer as JSON.
      { ...oursTarget, name: 'ours-stream', label: 'ours (stream_upstream: true)', model: 'bench-stream' },
      floorTarget,
    ],
    sse: [
      direct,
      oursTarget,
      teleTarget,
      {
        name: 'portkey',
        label: 'portkey (shim)',
        port: portkeySsePort,
        path: '/v1/chat/completions',
        headers: portkeyHeaders,
        model: 'bench-model',
        pid: portkeySse.child.pid,
      },
      floorTarget,
    ],
  };
  const bodyFor = (t, stream) => requestBody(t.model, stream);
  for (const mode of ['json', 'sse'])
    for (const t of targetsOf[mode]) await waitFor(() => post(t, bodyFor(t, mode === 'sse')).then(() => true), `${t.label ?? t.name} (${mode})`);
  void mock;

  const results = {};
  for (const mode of ['json', 'sse']) {
    const targets = targetsOf[mode];
    const body = (t) => bodyFor(t, mode === 'sse');
    console.error(`${mode}: latency at 1 connection, interleaved...`);
    const lat = await interleaved(targets, (t) => latency(t, body(t)));
    console.error(`${mode}: throughput at ${CONNECTIONS} connections, interleaved...`);
    const thr = await interleaved(targets, (t, first) => throughput(t, body(t), first ? WARMUP_SECONDS : REWARM_SECONDS, nats.child.pid));
    for (const t of targets) {
      const l = lat.get(t.name);
      const r = thr.get(t.name);
      results[`${mode}.${t.name}`] = {
        p50: mean(l.map((x) => x.p50)),
        p99: mean(l.map((x) => x.p99)),
        samples: l.reduce((n, x) => n + x.samples, 0),
        latencyLoad: mean(l.map((x) => x.load)),
        rps: mean(r.map((x) => x.rps)),
        rpsRuns: r.map((x) => Math.round(x.rps)),
        loadedP50: mean(r.map((x) => x.loadedP50)),
        loadedP99: mean(r.map((x) => x.loadedP99)),
        failed: r.reduce((n, x) => n + x.failed, 0),
        throughputLoad: mean(r.map((x) => x.load)),
        cpuPerRequest: t.pid ? mean(r.map((x) => x.cpuPerRequest)) : undefined,
        natsPerRequest: mean(r.map((x) => x.natsPerRequest)),
        runs: { latency: l, throughput: r },
      };
    }
  }
  const mem = Object.fromEntries([oursTarget, teleTarget, targetsOf.json[3], targetsOf.sse[3]].map((t) => [t.label ?? t.name, memory(t.pid)]));
  const spans = readFileSync(spanFile, 'utf8').split('\n').length - 1;

  const f = (n, d = 3) => n.toFixed(d);
  const out = [];
  const nodeOf = (pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  out.push(
    `Node ${process.version} for every process (ours: ${nodeOf(oursTarget.pid)}, portkey: ${nodeOf(targetsOf.json[3].pid)}), ${cpus().length} CPUs (${cpus()[0].model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${new Date().toISOString()}`,
  );
  out.push(
    `latency: ${LATENCY_REQUESTS} sequential requests after ${LATENCY_WARMUP} warm-up (at most ${LATENCY_MAX_SECONDS} s: fewer samples for a slow target, see "n"); throughput: ${CONNECTIONS} connections for ${THROUGHPUT_SECONDS} s after ${WARMUP_SECONDS} s warm-up (${REWARM_SECONDS} s before later runs)`,
  );
  out.push(
    `interleaved: targets in order and back (A B C D D C B A), ${ROUNDS} round(s); each figure is the mean of its ${2 * ROUNDS} runs; load = 1-minute load average during them`,
  );
  out.push(pin ? 'pinned: load generator, mock and nats-server on CPU 0, each gateway on CPU 1' : 'not pinned: every process shares both CPUs');
  out.push(`load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${loadavg()[0].toFixed(2)}; spans written by ours + telemetry: ${spans}`);
  out.push('');
  out.push(
    '| mode | target | median ms (1 conn) | added median ms | p99 ms (1 conn) | n | load | req/s (32 conn) | runs | vs Portkey | vs ours | median / p99 ms (32 conn) | load | CPU µs/req | nats-server µs/req | failed |',
  );
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const mode of ['json', 'sse']) {
    const d = results[`${mode}.direct`];
    const pk = results[`${mode}.portkey`];
    const us = results[`${mode}.ours`];
    for (const t of targetsOf[mode]) {
      const r = results[`${mode}.${t.name}`];
      const added = t.name === 'direct' ? '' : f(r.p50 - d.p50);
      const ratio = t.name === 'direct' ? '' : `${f(r.rps / pk.rps, 2)}x`;
      const vsOurs = t.name === 'ours-telemetry' ? `${f((100 * r.rps) / us.rps, 1)}%` : '';
      out.push(
        `| ${mode} | ${t.label ?? t.name} | ${f(r.p50)} | ${added} | ${f(r.p99)} | ${r.samples} | ${f(r.latencyLoad, 1)} | ${Math.round(r.rps)} | ${r.rpsRuns.join(' / ')} | ${ratio} | ${vsOurs} | ${f(r.loadedP50, 1)} / ${f(r.loadedP99, 1)} | ${f(r.throughputLoad, 1)} | ${r.cpuPerRequest === undefined ? '' : f(r.cpuPerRequest, 0)} | ${f(r.natsPerRequest, 0)} | ${r.failed} |`,
      );
    }
  }
  out.push('');
  out.push('| gateway | RSS at end (MiB) | peak RSS (MiB) |');
  out.push('| --- | ---: | ---: |');
  for (const [name, m] of Object.entries(mem)) out.push(`| ${name} | ${f(m.rssMiB, 0)} | ${f(m.peakMiB, 0)} |`);
  console.log(out.join('\n'));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ results, memory: mem, spans }, null, 2));
}

await runBenchmark(main, () => {
  agent.destroy();
  rmSync(work, { recursive: true, force: true });
});
