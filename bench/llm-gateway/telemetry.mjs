#!/usr/bin/env node
// What telemetry costs the gateway at full load, measured alone (no Portkey): two processes of the
// same build in front of the benchmark's mock upstream, "off" (no span export, calls without an
// FR) and "on" (spans exported to a file, every call FR-tagged, so each queues a usage event for
// JetStream and charges the FR's spend in the agency-budgets KV bucket), loaded in turn at 32
// connections (off, on, on, off, ... for --rounds). For each it prints requests/s, the gateway's
// CPU µs per request and nats-server's (which stores the usage events and shares the machine).
//
// Run from the repository root, with Node 24 (the one in node_modules), after tools/build.mjs:
//   node bench/llm-gateway/telemetry.mjs [--mode json|sse] [--rounds 2] [--seconds 10]
//   node bench/llm-gateway/telemetry.mjs --cpu-prof /tmp/prof   # V8 CPU profiles of both gateways
//   node bench/llm-gateway/telemetry.mjs --on usage|spans        # "on" with only one of the two (default both)
//   BENCH_NODE_FLAGS=--trace-gc BENCH_CHILD_LOG=/tmp/logs node bench/llm-gateway/telemetry.mjs  # node flags for both gateways; their stdout to files
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
const seconds = Number(opt('--seconds', '10'));
const profileDir = opt('--cpu-prof', undefined);
const onWhat = opt('--on', 'both');
const spansOn = onWhat !== 'usage';
const usageOn = onWhat !== 'spans';
const work = mkdtempSync(join(tmpdir(), 'llm-gateway-telemetry-'));

async function main() {
  const [natsPort, monitorPort, mockPort, offPort, onPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const natsArgs = ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-m', String(monitorPort), '-sd', join(work, 'js')];
  const nats = start('nats-server', process.env.NATS_SERVER_BIN ?? 'nats-server', natsArgs, { root });
  // Messages and bytes nats-server received: what the gateway sends it per request.
  const varz = () => fetch(`http://127.0.0.1:${monitorPort}/varz`).then((r) => r.json());
  start('mock', process.execPath, ['bench/llm-gateway/mock-upstream.mjs', String(mockPort)], { root });
  const vaultPath = join(work, 'vault');
  mkdirSync(join(vaultPath, '40_config'), { recursive: true });
  writeFileSync(join(vaultPath, '40_config', 'agency.yaml'), vault(mockPort));
  const extraFlags = process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : [];
  const node = (name) => [...extraFlags, ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : [])];
  const gateway = (name, port, env) =>
    start(`gateway (${name})`, process.execPath, [...node(name), 'dist/apps/llm-gateway/src/main.js'], {
      root,
      env: { ...gatewayEnv({ natsPort, port, vaultPath }), ...env },
    });
  const off = gateway('off', offPort, {});
  const on = gateway('on', onPort, { ...(spansOn ? { AGENCY_TRACE_FILE: join(work, 'spans.jsonl') } : {}), WORK_DIR: join(work, 'gateway-work') });
  const auth = { authorization: `Bearer ${GATEWAY_KEY}` };
  const targets = [
    { name: 'off', port: offPort, path: '/v1/chat/completions', headers: auth, pid: off.child.pid },
    { name: 'on', port: onPort, path: '/v1/chat/completions', headers: { ...auth, ...(usageOn ? FR_HEADERS : {}) }, pid: on.child.pid },
  ];
  const body = bodyFor('bench', mode === 'sse');
  for (const t of targets) {
    await waitFor(
      () =>
        fetch(`http://127.0.0.1:${t.port}${t.path}`, { method: 'POST', headers: { ...t.headers, 'content-type': 'application/json' }, body }).then((r) => r.ok),
      `gateway ${t.name}`,
    );
  }
  const runs = { off: [], on: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      await cannon(t, body, round === 0 ? 3 : 1);
      const load = loadavg()[0];
      const v0 = await varz();
      const before = { faults: minorFaults(t.pid), gw: cpuUs(t.pid), nats: cpuUs(nats.child.pid), threads: threadCpuUs(t.pid) };
      const r = await cannon(t, body, seconds);
      const n = r.requests.total;
      const threadsAfter = threadCpuUs(t.pid);
      const v1 = await varz();
      const run = {
        rps: n / seconds,
        gatewayUs: (cpuUs(t.pid) - before.gw) / n,
        natsUs: (cpuUs(nats.child.pid) - before.nats) / n,
        faults: (minorFaults(t.pid) - before.faults) / n,
        natsMsgs: (v1.in_msgs - v0.in_msgs) / n,
        natsBytes: (v1.in_bytes - v0.in_bytes) / n,
        failed: r.non2xx + r.errors + r.timeouts,
        load: (load + loadavg()[0]) / 2,
        // Where the gateway's CPU went, per thread name: work off the main thread is not in a V8 CPU profile.
        threadsUs: Object.fromEntries(Object.entries(threadsAfter).map(([k, v]) => [k, (v - (before.threads[k] ?? 0)) / n])),
      };
      runs[t.name].push(run);
      console.error(
        `${mode} ${t.name}: ${run.rps.toFixed(0)} req/s, gateway ${run.gatewayUs.toFixed(0)} µs/req (${Object.entries(run.threadsUs)
          .filter(([, us]) => us >= 0.5)
          .map(([k, us]) => `${k} ${us.toFixed(1)}`)
          .join(
            ', ',
          )}), ${run.faults.toFixed(2)} page faults/req, nats-server ${run.natsUs.toFixed(0)} µs/req and ${run.natsMsgs.toFixed(2)} messages (${run.natsBytes.toFixed(0)} bytes) in per request, load ${run.load.toFixed(1)}, failed ${run.failed}`,
      );
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summary = Object.fromEntries(
    Object.entries(runs).map(([k, rs]) => [
      k,
      {
        rps: mean(rs.map((r) => r.rps)),
        gatewayUs: mean(rs.map((r) => r.gatewayUs)),
        natsUs: mean(rs.map((r) => r.natsUs)),
        load: mean(rs.map((r) => r.load)),
      },
    ]),
  );
  const s = summary;
  console.log(
    `${mode} (on: ${onWhat}): on/off throughput ${((100 * s.on.rps) / s.off.rps).toFixed(1)}% (${s.on.rps.toFixed(0)} / ${s.off.rps.toFixed(0)} req/s); ` +
      `gateway CPU ${s.on.gatewayUs.toFixed(0)} / ${s.off.gatewayUs.toFixed(0)} µs/req; nats-server ${s.on.natsUs.toFixed(0)} / ${s.off.natsUs.toFixed(0)} µs/req; load ${s.on.load.toFixed(1)} / ${s.off.load.toFixed(1)}`,
  );
}

await runBenchmark(main, () => rmSync(work, { recursive: true, force: true }));
