#!/usr/bin/env node
// The one test command (npm test): build, lint, format, module boundaries, typecheck, Docker,
// unit, medium and end-to-end tests, in that order, stopping at the first failure. Every phase
// after the build is an Nx target (nx.json, project.json files), so lint, format, boundaries,
// typecheck and unit tests whose inputs did not change are read from Nx's cache (.nx/cache).
//   npm test -- unit medium            only the named phases (also unit,medium or --only=unit,medium)
//   npm test -- --affected[=<base>]    per-project phases only for projects changed since <base> (main)
//   npm test -- --skip-cache           run every task even when a cached result exists
//   npm test -- --verbose              print every task's output, not only failing ones
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const affected = flag('affected');
const wanted = [...args.filter((a) => !a.startsWith('--')), flag('only')?.split('=')[1] ?? ''].flatMap((a) => a.split(',')).filter(Boolean);
const nxOptions = [`--outputStyle=${flag('verbose') ? 'static' : 'static-failures-only'}`, ...(flag('skip-cache') ? ['--skipNxCache'] : [])];
const cores = String(availableParallelism());

const base = affected?.split('=')[1];
const select = affected ? ['affected', ...(base ? [`--base=${base}`] : [])] : ['run-many'];
/** Runs a target on every project that has it (or on the affected ones); `parallel` tasks at a time. */
const perProject = (target, parallel = cores) => ['nx', [...select, '-t', target, `--parallel=${parallel}`, ...nxOptions]];
const one = (task) => ['nx', ['run', task, ...nxOptions]];

const phases = [
  // SWC into dist/ (incremental by itself: only files newer than their output are compiled); the
  // medium and e2e tests run what it builds.
  ['build', 'node', ['tools/build.mjs']],
  ['graph', 'nx', ['show', 'projects']],
  ['lint', ...perProject('lint')],
  // The layout is Prettier's (.prettierrc.json); a file it would change fails here.
  ['format', ...one('workspace:format')],
  ['boundaries', ...one('workspace:boundaries')],
  ['typecheck', ...perProject('typecheck')],
  // The dashboard's browser code: the DOM's types, not Node's.
  ['typecheck-browser', ...one('dashboard:typecheck-browser')],
  ['docker', ...one('workspace:docker')],
  ['unit', ...perProject('test')],
  // One project at a time: each file starts its own nats-server, git repositories and HTTP
  // servers, and the files of one project already run one after another (fileParallelism: false).
  ['medium', ...perProject('test-medium', '1')],
  ['e2e', ...one('e2e:test-e2e')],
];

const unknown = wanted.filter((w) => !phases.some(([name]) => name === w));
if (unknown.length) {
  console.error(`test: no phase named ${unknown.join(', ')} (phases: ${phases.map(([name]) => name).join(', ')})`);
  process.exit(2);
}

// No daemon and no Nx Cloud: every run computes the graph itself and the cache stays on this disk.
const env = { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0', NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };

/** Runs one phase with its output passed through; resolves to its exit status and Nx's cache line. */
function run(cmd, cmdArgs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code, signal) => resolve({ status: code ?? signal, cache: /Cache:\s+(\d+\/\d+) hit/.exec(tail)?.[1] }));
  });
}

const results = [];
for (const [name, cmd, cmdArgs] of phases) {
  if (wanted.length && !wanted.includes(name)) continue;
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${cmdArgs.join(' ')}`);
  const { status, cache } = await run(cmd, cmdArgs);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push(`${name} ${status === 0 ? 'ok' : 'FAILED'} (${seconds} s${cache ? `, ${cache} from cache` : ''})`);
  if (status !== 0) {
    console.error(`\n=== ${name} failed (exit ${status}).\n${results.join('\n')}`);
    process.exit(1);
  }
}
console.log(`\n=== all green\n${results.join('\n')}`);
