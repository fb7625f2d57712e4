#!/usr/bin/env node
// Does the gateway's memory grow with the number of requests? Starts nats-server, the mock upstream
// and one gateway (preloaded with memory-probe.mjs), then sends --requests requests in --steps equal
// steps at 32 connections; after each step it asks the probe for process.memoryUsage() before and
// after a full garbage collection. A leak shows as heapUsed after GC rising step after step; V8
// keeping a large heap it does not need shows as RSS and heapTotal high while heapUsed after GC
// stays flat.
//
// Run from the repository root, with Node 24 (the one in node_modules), after tools/build.mjs:
//   node bench/llm-gateway/memory.mjs [--mode json|sse] [--telemetry] [--requests 300000] [--steps 10]
//     [--snapshots DIR]   # heap snapshots after the first and last step, to compare in DevTools
//     [--node-flag F]     # an extra node flag for the gateway, e.g. --max-semi-space-size=4 (repeatable)
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { bodyFor, CONNECTIONS, FR_HEADERS, freePort, GATEWAY_KEY, gatewayEnv, memory, runBenchmark, start, vault, waitFor } from './harness.mjs';

const root = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const mode = opt('--mode', 'json');
const telemetry = args.includes('--telemetry');
const total = Number(opt('--requests', '300000'));
const steps = Number(opt('--steps', '10'));
const snapshotDir = opt('--snapshots', undefined);
const nodeFlags = args.flatMap((a, i) => (a === '--node-flag' ? [args[i + 1]] : []));
const work = mkdtempSync(join(tmpdir(), 'llm-gateway-memory-'));

const send = (port, headers, body, amount) =>
  new Promise((res, rej) =>
    autocannon(
      {
        url: `http://127.0.0.1:${port}/v1/chat/completions`,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        connections: CONNECTIONS,
        amount,
      },
      (err, r) => (err ? rej(err) : res(r)),
    ),
  );

async function main() {
  const [natsPort, mockPort, port] = await Promise.all([freePort(), freePort(), freePort()]);
  start('nats-server', process.env.NATS_SERVER_BIN ?? 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(work, 'js')], { root });
  start('mock', process.execPath, ['bench/llm-gateway/mock-upstream.mjs', String(mockPort)], { root });
  const vaultPath = join(work, 'vault');
  mkdirSync(join(vaultPath, '40_config'), { recursive: true });
  writeFileSync(join(vaultPath, '40_config', 'agency.yaml'), vault(mockPort));
  const probeFile = join(work, 'probe.jsonl');
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
  const env = {
    ...gatewayEnv({ natsPort, port, vaultPath }),
    ...(telemetry ? { AGENCY_TRACE_FILE: join(work, 'spans.jsonl'), WORK_DIR: join(work, 'gateway-work') } : {}),
    MEMORY_PROBE_FILE: probeFile,
  };
  const gw = start(
    'gateway',
    process.execPath,
    ['--expose-gc', ...nodeFlags, '--import', './bench/llm-gateway/memory-probe.mjs', 'dist/apps/llm-gateway/src/main.js'],
    {
      root,
      env,
    },
  );
  const headers = { authorization: `Bearer ${GATEWAY_KEY}`, ...(telemetry ? FR_HEADERS : {}) };
  const body = bodyFor('bench', mode === 'sse');
  await waitFor(
    () =>
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }).then(
        (r) => r.ok,
      ),
    'gateway',
  );
  let probes = 0;
  const probe = async (snapshot) => {
    if (snapshot && snapshotDir) writeFileSync(`${probeFile}.snapshot`, snapshotDir);
    else rmSync(`${probeFile}.snapshot`, { force: true });
    gw.child.kill('SIGUSR2');
    probes += 1;
    await waitFor(() => existsSync(probeFile) && readFileSync(probeFile, 'utf8').trim().split('\n').length >= probes, 'memory probe', 120_000);
    return JSON.parse(readFileSync(probeFile, 'utf8').trim().split('\n')[probes - 1]);
  };
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  console.log(
    `${mode}${telemetry ? ' + telemetry' : ''}, ${total} requests in ${steps} steps at ${CONNECTIONS} connections, node flags: ${nodeFlags.join(' ') || 'none'}`,
  );
  console.log('| requests | RSS (MiB) | heapTotal | heapUsed | heapUsed after GC | RSS after GC | external | arrayBuffers | VmHWM | failed | load |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const row = (sent, p, failed) => {
    const m = memory(gw.child.pid);
    console.log(
      `| ${sent} | ${mib(p.before.rss)} | ${mib(p.before.heapTotal)} | ${mib(p.before.heapUsed)} | ${mib(p.after.heapUsed)} | ${mib(p.after.rss)} | ${mib(p.after.external)} | ${mib(p.after.arrayBuffers)} | ${m.peakMiB.toFixed(1)} | ${failed} | ${loadavg()[0].toFixed(1)} |`,
    );
  };
  row(1, await probe(false), 0);
  let sent = 0;
  for (let s = 1; s <= steps; s += 1) {
    const r = await send(port, headers, body, Math.round(total / steps));
    sent += r.requests.total;
    row(sent, await probe(s === 1 || s === steps), r.non2xx + r.errors + r.timeouts);
  }
}

await runBenchmark(main, () => rmSync(work, { recursive: true, force: true }));
