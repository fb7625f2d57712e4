// What the gateway benchmarks share: free ports, child processes that are stopped at the end,
// the benchmark's agency.yaml and gateway environment, autocannon runs and /proc readings.
import { spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

export const CONNECTIONS = 32;
export const GATEWAY_KEY = 'bench-secret-0123456789abcdef';

export function freePort() {
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

/** Child processes started by `start`, stopped (SIGTERM) by `stopAll`. */
export const children = [];

/** `cpu`: with `pin`, the CPU the process is confined to (taskset). */
export function start(name, command, argv, { root, env = {}, cpu, pin = false } = {}) {
  if (pin && cpu !== undefined) {
    argv = ['-c', String(cpu), command, ...argv];
    command = 'taskset';
  }
  const child = spawn(command, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-4000)));
  // BENCH_CHILD_LOG=<dir>: each child's whole stdout in <dir>/<name>.log (--trace-gc output, say).
  if (process.env.BENCH_CHILD_LOG) child.stdout.pipe(createWriteStream(`${process.env.BENCH_CHILD_LOG}/${name.replace(/[^a-z0-9]+/gi, '_')}.log`));
  child.stderr.on('data', (d) => (output = (output + d).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (!child.stopping) console.error(`${name} exited (${code ?? signal}): ${output}`);
  });
  child.tail = () => output;
  children.push(child);
  return { child, output: () => output };
}

/** Stops every child (SIGTERM); resolves once they all exited. */
export function stopAll() {
  return Promise.all(
    children.map((c) => {
      c.stopping = true;
      if (c.exitCode !== null || c.signalCode !== null) return undefined;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      return exited;
    }),
  );
}

/** Runs a benchmark's `main`; on failure prints each child's last output; always stops them, then `cleanup`. */
export async function runBenchmark(main, cleanup) {
  try {
    await main();
  } catch (e) {
    for (const c of children) console.error(`--- ${c.spawnargs.slice(0, 2).join(' ')}:\n${c.tail?.() ?? ''}`);
    throw e;
  } finally {
    await stopAll();
    cleanup();
  }
}

export async function waitFor(check, what, timeoutMs = 60_000) {
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

export function cannon(target, body, seconds, connections = CONNECTIONS) {
  return new Promise((res, rej) => {
    autocannon(
      {
        url: `http://127.0.0.1:${target.port}${target.path}`,
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'application/json' },
        body,
        connections,
        duration: seconds,
      },
      (err, result) => (err ? rej(err) : res(result)),
    );
  });
}

/** CPU time (user + system) a process has used, in µs (from /proc, in clock ticks of 10 ms). */
export function cpuUs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Minor page faults of a process so far (the kernel zeroing fresh pages: system time a heap's growth costs). */
export function minorFaults(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[7]);
}

/** CPU µs per thread name and user/system (/proc/<pid>/task/<tid>: the main thread is `MainThread`, libuv's pool `libuv-worker`, V8's helpers `V8Worker`...). */
export function threadCpuUs(pid) {
  const byName = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName[`${name} user`] = (byName[`${name} user`] ?? 0) + Number(fields[11]) * 10_000;
      byName[`${name} sys`] = (byName[`${name} sys`] ?? 0) + Number(fields[12]) * 10_000;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName;
}

export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** The agency.yaml of the benchmark: one alias `bench` on the mock upstream. */
export const vault = (mockPort) => `repos:
  example/greeter: { forge: local, url: /nowhere/greeter.git, test: npm test }
tiers:
  - { name: small, max_score: 100, models: { planner: bench, coder: bench, reviewer: bench } }
llm:
  providers:
    mock: { type: openai-compatible, base_url: "http://127.0.0.1:${mockPort}/v1" }
    mockstream: { type: openai-compatible, base_url: "http://127.0.0.1:${mockPort}/v1", stream_upstream: true }
  models:
    bench: [mock/bench-model]
    bench-stream: [mockstream/bench-model]
  prices:
    mock/bench-model: { input_per_mtok: 1.0, output_per_mtok: 2.0 }
    mockstream/bench-model: { input_per_mtok: 1.0, output_per_mtok: 2.0 }
`;

/** A gateway with telemetry off (no span export); add AGENCY_TRACE_FILE to export spans. */
export const gatewayEnv = ({ natsPort, port, vaultPath }) => ({
  NATS_URL: `nats://127.0.0.1:${natsPort}`,
  HTTP_PORT: String(port),
  HTTP_HOST: '127.0.0.1',
  VAULT_PATH: vaultPath,
  GATEWAY_API_KEYS: `bench:${GATEWAY_KEY}`,
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  AGENCY_TRACE_FILE: '',
});

/** The request every benchmark sends: a two-message chat, as JSON or streamed. */
export const MESSAGES = [
  { role: 'system', content: 'You are the coder of a small software agency. Answer with a plan and the changed files.' },
  { role: 'user', content: 'Add a farewell(name) function to src/greet.js next to greet(name), export it, and add a test for it in test/greet.test.js.' },
];
export const bodyFor = (model, stream) => JSON.stringify({ model, messages: MESSAGES, max_tokens: 256, ...(stream ? { stream: true } : {}) });

/** The headers of an FR-tagged call, like the agency's own: each then queues a usage event and charges the FR. */
export const FR_HEADERS = { 'x-agency-fr-id': 'FR-054', 'x-agency-job-id': 'bench' };
