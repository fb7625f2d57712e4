#!/usr/bin/env node
// LLM gateway benchmark: our gateway vs Portkey's open-source gateway vs no gateway at all, all
// pointed at the same local mock upstream (OpenAI's format), non-streaming and streaming.
//
// Run from the repository root, with Node 24 (the one in node_modules):
//   export PATH=$PWD/node_modules/.bin:$PATH
//   node bench/llm-gateway/run.mjs                  # full run (~4 minutes)
//   node bench/llm-gateway/run.mjs --quick          # shorter phases, for a smoke test
//   node bench/llm-gateway/run.mjs --json out.json  # also write the raw numbers
//   node bench/llm-gateway/run.mjs --pin            # pin the load side and the gateways apart (below)
//
// What it measures, for each target (direct = client -> mock, ours, portkey) and mode (json, sse):
// - latency at 1 connection: sequential requests on a keep-alive connection, timed with
//   process.hrtime; median and p99. "Added" latency = the gateway's minus direct's.
// - throughput at 32 connections: autocannon, requests per second over the phase.
// - memory: resident set size (VmRSS) and its peak (VmHWM) of each gateway process, at the end.
// "ours (FR-tagged)" sends x-agency-fr-id like the agency's own calls: each call then also
// publishes a usage event to JetStream and charges the FR's spend in the agency-budgets KV bucket.
// It builds the repo (tools/build.mjs), starts nats-server (the gateway publishes usage events),
// the mock, our gateway (dist/apps/llm-gateway/src/main.js) and Portkey (@portkey-ai/gateway),
// each in its own process, and stops them all at the end. It is not part of the test suite.
// With --pin (taskset), this process (the load generator), the mock and nats-server run on CPU 0
// and each gateway on CPU 1: every gateway then has one core of its own, instead of competing with
// the load generator and the mock for both (which penalises the faster gateway most).
// Portkey 1.15.2 as installed cannot stream on Node (see portkey-fetch-shim.mjs): the JSON rows use
// stock Portkey, the SSE rows a second Portkey process started with that one-line fetch shim.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';

const root = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const pin = args.includes('--pin');
const LATENCY_REQUESTS = quick ? 1500 : 6000;
const LATENCY_WARMUP = quick ? 300 : 1500;
/** A slow target (Portkey streams ~27 ms per answer) stops at this many seconds instead. */
const LATENCY_MAX_SECONDS = quick ? 8 : 20;
const THROUGHPUT_SECONDS = quick ? 4 : 12;
const WARMUP_SECONDS = quick ? 2 : 5;
const CONNECTIONS = 32;
const GATEWAY_KEY = 'bench-secret-0123456789abcdef';

const children = [];
const work = mkdtempSync(join(tmpdir(), 'llm-gateway-bench-'));

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** `cpu`: with --pin, the CPU the process is confined to. */
function start(name, command, argv, env = {}, cpu = undefined) {
  if (pin && cpu !== undefined) {
    argv = ['-c', String(cpu), command, ...argv];
    command = 'taskset';
  }
  const child = spawn(command, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (!child.stopping) console.error(`${name} exited (${code ?? signal}): ${output}`);
  });
  child.tail = () => output;
  children.push(child);
  return { child, output: () => output };
}

async function waitFor(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(target, body) {
  return new Promise((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port: target.port, path: target.path, method: 'POST', headers: { ...target.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, agent }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => (r.statusCode === 200 ? res() : rej(new Error(`${target.name} answered ${r.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`))));
    });
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

function cannon(target, body, seconds) {
  return new Promise((res, rej) => {
    autocannon(
      { url: `http://127.0.0.1:${target.port}${target.path}`, method: 'POST', headers: { ...target.headers, 'content-type': 'application/json' }, body, connections: CONNECTIONS, duration: seconds },
      (err, result) => (err ? rej(err) : res(result)),
    );
  });
}

async function throughput(target, body) {
  await cannon(target, body, WARMUP_SECONDS);
  const r = await cannon(target, body, THROUGHPUT_SECONDS);
  const failed = r.non2xx + r.errors + r.timeouts;
  return { rps: r.requests.total / THROUGHPUT_SECONDS, loadedP50: r.latency.p50, loadedP99: r.latency.p99, failed };
}

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

const vault = (mockPort) => `repos:
  example/greeter: { forge: local, url: /nowhere/greeter.git, test: npm test }
tiers:
  - { name: small, max_score: 100, models: { planner: bench, coder: bench, reviewer: bench } }
llm:
  providers:
    mock: { type: openai-compatible, base_url: "http://127.0.0.1:${mockPort}/v1" }
  models:
    bench: [mock/bench-model]
  prices:
    mock/bench-model: { input_per_mtok: 1.0, output_per_mtok: 2.0 }
`;

async function main() {
  const loadAtStart = loadavg()[0];
  if (pin) execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
  console.error('building...');
  execFileSync(process.execPath, ['tools/build.mjs', '--quiet'], { cwd: root, stdio: 'inherit' });
  const [natsPort, mockPort, oursPort, portkeyPort, portkeySsePort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);

  start('nats-server', process.env.NATS_SERVER_BIN ?? 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(work, 'js')], {}, 0);
  const mock = start('mock', process.execPath, ['bench/llm-gateway/mock-upstream.mjs', String(mockPort)], {}, 0);
  mkdirSync(join(work, 'vault', '40_config'), { recursive: true });
  writeFileSync(join(work, 'vault', '40_config', 'agency.yaml'), vault(mockPort));
  const ours = start('our gateway', process.execPath, ['dist/apps/llm-gateway/src/main.js'], {
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    HTTP_PORT: String(oursPort),
    HTTP_HOST: '127.0.0.1',
    VAULT_PATH: join(work, 'vault'),
    GATEWAY_API_KEYS: `bench:${GATEWAY_KEY}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    AGENCY_TRACE_FILE: '',
  }, 1);
  const portkeyServer = ['node_modules/@portkey-ai/gateway/build/start-server.js', '--headless'];
  const portkey = start('portkey', process.execPath, [...portkeyServer, `--port=${portkeyPort}`], { NODE_ENV: 'production' }, 1);
  const portkeySse = start('portkey (streaming shim)', process.execPath, ['--import', './bench/llm-gateway/portkey-fetch-shim.mjs', ...portkeyServer, `--port=${portkeySsePort}`], { NODE_ENV: 'production' }, 1);

  const messages = [
    { role: 'system', content: 'You are the coder of a small software agency. Answer with a plan and the changed files.' },
    { role: 'user', content: 'Add a farewell(name) function to src/greet.js next to greet(name), export it, and add a test for it in test/greet.test.js.' },
  ];
  const portkeyHeaders = { authorization: 'Bearer sk-bench', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `http://127.0.0.1:${mockPort}/v1` };
  const direct = { name: 'direct', port: mockPort, path: '/v1/chat/completions', headers: {}, model: 'bench-model' };
  const oursTarget = { name: 'ours', port: oursPort, path: '/v1/chat/completions', headers: { authorization: `Bearer ${GATEWAY_KEY}` }, model: 'bench', pid: ours.child.pid };
  const targetsOf = {
    json: [
      direct,
      oursTarget,
      { ...oursTarget, name: 'ours-fr', label: 'ours (FR-tagged)', headers: { ...oursTarget.headers, 'x-agency-fr-id': 'FR-054', 'x-agency-job-id': 'bench' } },
      { name: 'portkey', port: portkeyPort, path: '/v1/chat/completions', headers: portkeyHeaders, model: 'bench-model', pid: portkey.child.pid },
    ],
    sse: [direct, oursTarget, { name: 'portkey', label: 'portkey (shim)', port: portkeySsePort, path: '/v1/chat/completions', headers: portkeyHeaders, model: 'bench-model', pid: portkeySse.child.pid }],
  };
  const bodyFor = (t, stream) => JSON.stringify({ model: t.model, messages, max_tokens: 256, ...(stream ? { stream: true } : {}) });
  for (const mode of ['json', 'sse']) for (const t of targetsOf[mode]) await waitFor(() => post(t, bodyFor(t, mode === 'sse')).then(() => true), `${t.label ?? t.name} (${mode})`);
  void mock;

  const results = {};
  for (const mode of ['json', 'sse']) {
    for (const t of targetsOf[mode]) {
      const body = bodyFor(t, mode === 'sse');
      console.error(`${mode} ${t.name}: latency at 1 connection...`);
      const lat = await latency(t, body);
      console.error(`${mode} ${t.name}: throughput at ${CONNECTIONS} connections...`);
      const thr = await throughput(t, body);
      results[`${mode}.${t.name}`] = { ...lat, ...thr };
      // Before the FR-tagged phase, whose JetStream publishing grows the heap further.
      if (mode === 'json' && t.name === 'ours') results.oursMemoryAfterJson = memory(t.pid);
    }
  }
  const mem = Object.fromEntries([oursTarget, targetsOf.json[3], targetsOf.sse[2]].map((t) => [t.label ?? t.name, memory(t.pid)]));

  const f = (n, d = 3) => n.toFixed(d);
  const out = [];
  out.push(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0].model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${new Date().toISOString().slice(0, 10)}`);
  out.push(`latency: ${LATENCY_REQUESTS} sequential requests after ${LATENCY_WARMUP} warm-up (at most ${LATENCY_MAX_SECONDS} s: fewer samples for a slow target, see "n"); throughput: ${CONNECTIONS} connections for ${THROUGHPUT_SECONDS} s after ${WARMUP_SECONDS} s warm-up`);
  out.push(pin ? 'pinned: load generator, mock and nats-server on CPU 0, each gateway on CPU 1' : 'not pinned: every process shares both CPUs');
  out.push(`load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${loadavg()[0].toFixed(2)}: other processes on the machine skew the numbers`);
  out.push('');
  out.push('| mode | target | median ms (1 conn) | added median ms | p99 ms (1 conn) | added p99 ms | n | req/s (32 conn) | vs Portkey | median / p99 ms (32 conn) | failed |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const mode of ['json', 'sse']) {
    const d = results[`${mode}.direct`];
    const pk = results[`${mode}.portkey`];
    for (const t of targetsOf[mode]) {
      const r = results[`${mode}.${t.name}`];
      const added = t.name === 'direct' ? '' : f(r.p50 - d.p50);
      const addedP99 = t.name === 'direct' ? '' : f(r.p99 - d.p99);
      const ratio = t.name === 'direct' ? '' : `${f(r.rps / pk.rps, 2)}x`;
      out.push(`| ${mode} | ${t.label ?? t.name} | ${f(r.p50)} | ${added} | ${f(r.p99)} | ${addedP99} | ${r.samples} | ${Math.round(r.rps)} | ${ratio} | ${r.loadedP50} / ${r.loadedP99} | ${r.failed} |`);
    }
  }
  out.push('');
  out.push('| gateway | RSS at end (MiB) | peak RSS (MiB) |');
  out.push('| --- | ---: | ---: |');
  out.push(`| ours, after its JSON phase (before the FR-tagged one) | ${f(results.oursMemoryAfterJson.rssMiB, 0)} | ${f(results.oursMemoryAfterJson.peakMiB, 0)} |`);
  for (const [name, m] of Object.entries(mem)) out.push(`| ${name} | ${f(m.rssMiB, 0)} | ${f(m.peakMiB, 0)} |`);
  console.log(out.join('\n'));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ results, memory: mem }, null, 2));
}

function stopAll() {
  for (const c of children) {
    c.stopping = true;
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
  agent.destroy();
  rmSync(work, { recursive: true, force: true });
}

try {
  await main();
} catch (e) {
  for (const c of children) console.error(`--- ${c.spawnargs.slice(0, 2).join(' ')}:\n${c.tail?.() ?? ''}`);
  throw e;
} finally {
  stopAll();
}
