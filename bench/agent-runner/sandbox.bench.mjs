#!/usr/bin/env node
// Sandbox benchmark: time to a ready sandbox (cold start vs the warm pool) and the overhead of
// running one command in it, through the agent-runner's own DockerSandbox (compiled in dist/).
//
//   node bench/agent-runner/sandbox.bench.mjs [--runs 50] [--exec-runs 200]
//
// Needs a Docker engine and agency/sandbox:latest (scripts/docker/build-images.sh). Prints
// markdown tables; bench/results/agent-runner.md records a run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { HEADER, row, sleep, summary, timed, fmt, buildAgentRunner } from './stats.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    'exec-runs': { type: 'string', default: '200' },
    image: { type: 'string', default: 'localhost/agency/sandbox:latest' },
  },
});
const RUNS = Number(args.runs);
const EXEC_RUNS = Number(args['exec-runs']);

const dist = await buildAgentRunner(ROOT);
const { DockerSandbox } = await dist('apps/agent-runner/src/sandbox/docker/docker.sandbox.js');
const { DockerEngine } = await dist('apps/agent-runner/src/sandbox/docker/docker.engine.js');
const { ContainerReaper } = await dist('apps/agent-runner/src/sandbox/docker/container-reaper.js');
const { SlotDirectories } = await dist('apps/agent-runner/src/sandbox/docker/slot-directories.js');
const { SandboxImages } = await dist('apps/agent-runner/src/sandbox/sandbox-images.js');
const { WorktreeOwner } = await dist('apps/agent-runner/src/sandbox/worktree-owner.js');
const { LABELS } = await dist('apps/agent-runner/src/sandbox/docker/container-spec.js');
const { createLogger } = await dist('libs/telemetry/src/index.js');

const engine = new DockerEngine();
if (!(await engine.ping())) throw new Error('no Docker engine answers');
if (!(await engine.imageExists(args.image))) throw new Error(`image ${args.image} is missing: scripts/docker/build-images.sh`);

const work = mkdtempSync(join(tmpdir(), 'bench-sandbox-'));
const logger = createLogger({ service: 'bench', level: 'warn' });
const owner = `bench-${process.pid}`;

function sandboxWith(poolSize) {
  const config = {
    WORK_DIR: work,
    VAULT_PATH: join(ROOT, 'examples/vault'),
    TEST_OUTPUT_MAX_BYTES: 2_000_000,
    SANDBOX_IMAGE: args.image,
    SANDBOX_POOL_SIZE: poolSize,
    SANDBOX_OWNER: owner,
    SANDBOX_MEMORY_MB: 2048,
    SANDBOX_CPUS: 1,
    SANDBOX_PIDS: 256,
    SANDBOX_TMP_MB: 256,
    SANDBOX_NETWORK: 'none',
    SANDBOX_UID: 1000,
    SANDBOX_GID: 1000,
  };
  const reaper = new ContainerReaper(engine, logger);
  return new DockerSandbox(config, engine, new SlotDirectories(config), new SandboxImages(config), new WorktreeOwner(config), reaper, logger);
}

// A small worktree: 50 files in a few directories.
const workspace = join(work, 'worktrees', 'bench-job');
for (let d = 0; d < 5; d += 1) {
  mkdirSync(join(workspace, `dir${d}`), { recursive: true });
  for (let f = 0; f < 10; f += 1) writeFileSync(join(workspace, `dir${d}`, `file${f}.js`), `export const x${f} = ${f};\n`);
}

const out = [];
const section = (title) => out.push('', `### ${title}`, '', HEADER);

try {
  // ---------------------------------------------------------------- cold
  const cold = sandboxWith(0);
  await cold.onModuleInit();
  const coldOpen = [];
  const closeTimes = [];
  for (let i = 0; i < RUNS; i += 1) {
    const { ms, value: session } = await timed(() => cold.open({ workspace, jobId: `cold-${i}` }));
    coldOpen.push(ms);
    closeTimes.push((await timed(() => session.close())).ms);
  }
  await cold.onApplicationShutdown();

  // ---------------------------------------------------------------- warm
  const warm = sandboxWith(2);
  await warm.onModuleInit();
  const pool = warm.poolFor(args.image, new WorktreeOwner({ SANDBOX_UID: 1000, SANDBOX_GID: 1000 }).expectedUser());
  const warmOpen = [];
  const warmFirst = [];
  for (let i = 0; i < RUNS; i += 1) {
    // Measure the pool's answer, not its refill: wait for a ready container first.
    while (pool.readyCount < 1) await sleep(10);
    await sleep(20);
    const t0 = performance.now();
    const session = await warm.open({ workspace, jobId: `warm-${i}` });
    warmOpen.push(performance.now() - t0);
    await session.exec({ command: '/bin/true', timeoutMs: 10_000 });
    warmFirst.push(performance.now() - t0);
    await session.close();
  }

  // ---------------------------------------------------------------- exec
  while (pool.readyCount < 1) await sleep(10);
  const session = await warm.open({ workspace, jobId: 'exec' });
  for (let i = 0; i < 10; i += 1) await session.exec({ command: '/bin/true', timeoutMs: 10_000 });
  const trueTotal = [];
  for (let i = 0; i < EXEC_RUNS; i += 1) trueTotal.push((await timed(() => session.exec({ command: '/bin/true', timeoutMs: 10_000 }))).ms);
  // The command's own run time: a shell forking and executing /bin/true, measured inside the container.
  const ownNs = [];
  for (let i = 0; i < 10; i += 1) {
    const r = await session.exec({
      command: 's=$(date +%s%N); i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; e=$(date +%s%N); echo $(( (e - s) / 200 ))',
      timeoutMs: 60_000,
    });
    ownNs.push(Number(r.output.trim()));
  }
  const own = summary(ownNs.map((n) => n / 1e6));
  const sleepTotal = [];
  for (let i = 0; i < 50; i += 1) sleepTotal.push((await timed(() => session.exec({ command: 'sleep 0.05', timeoutMs: 10_000 }))).ms);

  // dockerode exec of /bin/true into the same container, for comparison.
  const [mine] = await engine.list([`${LABELS.owner}=${owner}`]).then((all) => all.filter((c) => c.names[0]?.includes('exec')));
  const container = new Docker().getContainer(mine.id);
  const dockerExec = async () => {
    const exec = await container.exec({ Cmd: ['/bin/true'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise((r) => stream.on('end', r).resume());
    const info = await exec.inspect();
    if (info.ExitCode !== 0) throw new Error(`docker exec exit ${info.ExitCode}`);
  };
  for (let i = 0; i < 5; i += 1) await dockerExec();
  const dockerTotal = [];
  for (let i = 0; i < 50; i += 1) dockerTotal.push((await timed(dockerExec)).ms);
  await session.close();
  await warm.onApplicationShutdown();

  const trueS = summary(trueTotal);
  const overhead = summary(trueTotal.map((t) => t - own.median));
  const sleepOverhead = summary(sleepTotal.map((t) => t - 50 - own.median));
  section('Time to a ready sandbox (open(): container ready, worktree moved into its slot)');
  out.push(row('cold start (pool off): create + attach + start + server hello', summary(coldOpen)));
  out.push(row('warm pool acquire', summary(warmOpen)));
  out.push(row('warm pool acquire + first command (`/bin/true`) answered', summary(warmFirst)));
  out.push(row('session close (bye, kill, remove, worktree back)', summary(closeTimes)));
  section('Running one command');
  out.push(row('`/bin/true` through the command server, round trip', trueS));
  out.push(row('own run time of `/bin/true` (shell fork + exec, inside the container)', own));
  out.push(row('**exec overhead** = round trip − own run time', overhead));
  out.push(row('`sleep 0.05` round trip − 50 ms − own time', sleepOverhead));
  out.push(row('dockerode `exec` of `/bin/true` (create, start, stream, inspect)', summary(dockerTotal)));
  out.push('', `Targets: warm acquire median < 150 ms (${fmt(summary(warmOpen).median)}), exec overhead median < 20 ms (${fmt(overhead.median)}).`);
  console.log(out.join('\n'));
} finally {
  for (const c of await engine.list([`${LABELS.owner}=${owner}`])) await engine.remove(c.id);
  rmSync(work, { recursive: true, force: true });
}
