#!/usr/bin/env node
// A/B of gateway builds (and the floor proxy) at 32 connections, alternated A B B A ... for
// --rounds, printing requests/s and CPU µs per request of each. For comparing a change against
// the build before it on the same machine in the same minutes.
//   node bench/llm-gateway/ab.mjs --a dist [--b dist-before] [--c dist-other] [--floor] [--mode json|sse] [--rounds 2] [--seconds 8]
//   ... --spans --fr  # both builds export spans to a file / every call is FR-tagged (telemetry on)
//   ... --env-B 'WORK_DIR={work}/b'   # variables for one build only
//   ... --latency   # instead: median and p99 ms of 4000 sequential calls on one keep-alive connection (after 1000)
// A build is a copy of dist/ (tools/build.mjs output) inside the repository (e.g. `cp -r dist dist-before`
// before the change; dist-* is ignored by git), so its packages resolve from the repository's node_modules.
import http from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  bodyFor,
  cannon,
  cpuUs,
  FR_HEADERS,
  freePort,
  GATEWAY_KEY,
  gatewayEnv,
  minorFaults,
  runBenchmark,
  start,
  threadCpuUs,
  vault,
  waitFor,
} from './harness.mjs';

const root = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const mode = opt('--mode', 'json');
const rounds = Number(opt('--rounds', '2'));
const seconds = Number(opt('--seconds', '8'));
const builds = [
  ['A', opt('--a', 'dist')],
  ['B', opt('--b', undefined)],
  ['C', opt('--c', undefined)],
].filter(([, d]) => d);
const work = mkdtempSync(join(tmpdir(), 'llm-gateway-ab-'));

async function main() {
  const natsPort = await freePort();
  const mockPort = await freePort();
  start('nats-server', process.env.NATS_SERVER_BIN ?? 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(work, 'js')], { root });
  start('mock', process.execPath, ['bench/llm-gateway/mock-upstream.mjs', String(mockPort)], { root });
  const vaultPath = join(work, 'vault');
  mkdirSync(join(vaultPath, '40_config'), { recursive: true });
  writeFileSync(join(vaultPath, '40_config', 'agency.yaml'), vault(mockPort));
  const targets = [];
  for (const [name, dir] of builds) {
    const port = await freePort();
    const telemetry = args.includes('--spans') ? { AGENCY_TRACE_FILE: join(work, `spans-${name}.jsonl`), WORK_DIR: join(work, `work-${name}`) } : {};
    // --env-A 'KEY=value,KEY2=value': variables for one build ({work}: this run's temporary folder).
    const own = (opt(`--env-${name}`, '') ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1).replace('{work}', work)]);
    // --flags-A '--max-semi-space-size=32': node flags for one build.
    const flags = (opt(`--flags-${name}`, '') ?? '').split(' ').filter(Boolean);
    const g = start(`gateway ${name}`, process.execPath, [...flags, join(resolve(root, dir), 'apps/llm-gateway/src/main.js')], {
      root,
      env: { ...gatewayEnv({ natsPort, port, vaultPath }), ...telemetry, ...Object.fromEntries(own) },
    });
    const headers = { authorization: `Bearer ${GATEWAY_KEY}`, ...(args.includes('--fr') ? FR_HEADERS : {}) };
    targets.push({ name, port, path: '/v1/chat/completions', headers, pid: g.child.pid });
  }
  if (args.includes('--floor')) {
    const port = await freePort();
    const f = start('floor', process.execPath, ['bench/llm-gateway/floor-proxy.mjs', String(port), String(mockPort)], { root });
    targets.push({ name: 'floor', port, path: '/v1/chat/completions', headers: {}, pid: f.child.pid });
  }
  const body = bodyFor('bench', mode === 'sse');
  for (const t of targets) {
    await waitFor(
      () =>
        fetch(`http://127.0.0.1:${t.port}${t.path}`, { method: 'POST', headers: { ...t.headers, 'content-type': 'application/json' }, body }).then((r) => r.ok),
      t.name,
    );
  }
  if (args.includes('--latency')) return latencies(targets, body);
  const runs = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      await cannon(t, body, round === 0 ? 3 : 1);
      const before = { cpu: cpuUs(t.pid), faults: minorFaults(t.pid), load: loadavg()[0] };
      const r = await cannon(t, body, seconds);
      const n = r.requests.total;
      const run = {
        rps: n / seconds,
        us: (cpuUs(t.pid) - before.cpu) / n,
        faults: (minorFaults(t.pid) - before.faults) / n,
        load: (before.load + loadavg()[0]) / 2,
        failed: r.non2xx + r.errors + r.timeouts,
      };
      runs[t.name].push(run);
      console.error(
        `${mode} ${t.name}: ${run.rps.toFixed(0)} req/s, ${run.us.toFixed(1)} µs/req, ${run.faults.toFixed(2)} faults/req, load ${run.load.toFixed(1)}, failed ${run.failed}`,
      );
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [name, rs] of Object.entries(runs))
    console.log(`${mode} ${name}: ${mean(rs.map((r) => r.rps)).toFixed(0)} req/s, ${mean(rs.map((r) => r.us)).toFixed(1)} µs/req`);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const post = (t, body) =>
  new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: t.port, path: t.path, method: 'POST', agent, headers: { ...t.headers, 'content-type': 'application/json' } },
      (r) => {
        r.on('data', () => {});
        r.on('end', () => (r.statusCode === 200 ? resolve() : reject(new Error(`${t.name} answered ${r.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

async function latencies(targets, body) {
  for (let round = 0; round < rounds; round += 1) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      for (let i = 0; i < 1000; i += 1) await post(t, body);
      const ms = [];
      const cpuBefore = cpuUs(t.pid);
      const threadsBefore = threadCpuUs(t.pid);
      for (let i = 0; i < 4000; i += 1) {
        const start = process.hrtime.bigint();
        await post(t, body);
        ms.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      const cpu = (cpuUs(t.pid) - cpuBefore) / 4000;
      const threads = Object.entries(threadCpuUs(t.pid))
        .map(([k, v]) => [k, (v - (threadsBefore[k] ?? 0)) / 4000])
        .filter(([, us]) => us >= 1)
        .map(([k, us]) => `${k} ${us.toFixed(0)}`)
        .join(', ');
      ms.sort((a, b) => a - b);
      console.log(
        `${mode} ${t.name}: median ${ms[2000].toFixed(3)} ms, p99 ${ms[3960].toFixed(3)} ms at 1 connection, ${cpu.toFixed(0)} µs CPU per call (${threads}), load ${loadavg()[0].toFixed(1)}`,
      );
    }
  }
}

await runBenchmark(main, () => rmSync(work, { recursive: true, force: true }));
